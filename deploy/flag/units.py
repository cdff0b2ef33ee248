"""The feature flag on the hosts: read it, write it, reload the app, check what it serves.

The flag lives in each app's env file (<deploy_to>/<app>/shared/<app>.env). Only its two lines
are read (grep) and rewritten (awk into a copy that keeps the file's 0600 mode, then an atomic
rename), so no secret of the env file ever travels to this machine and nothing else in the file
changes. A unit is one app on one host (api-1/api, web-1/web) - or, for a web app in command
mode, the one local publish (deploy.phases.web_release). A change runs the apps side by side, each
app's hosts batch by batch (env.batches), and checks that each unit serves the new value on its
health URL before the next batch starts (see Change for what a failure puts back).
"""

from __future__ import annotations

import posixpath
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Protocol

from deploy.gates import health as gates
from deploy.commands.release import TO, AppLayout
from deploy.commands.shell import AND, Command, cmd
from deploy.errors import StepFailed
from deploy.executor import Executor
from deploy.hosts.fleet import Fleet, Host
from deploy.flag.rollout import ENABLE_VAR, FLAG_VARS, PERCENT_VAR, FlagState, state_from_env

MISSING = 2     # grep's exit code for a file it cannot read
STOPPED = "not started: another unit failed"

# Replace the first line of each flag variable, drop repeats, append what was not there.
AWK = (f'/^{ENABLE_VAR}=/ {{ if (!e) print "{ENABLE_VAR}=" on; e = 1; next }} '
       f'/^{PERCENT_VAR}=/ {{ if (!p) print "{PERCENT_VAR}=" pct; p = 1; next }} '
       '{ print } '
       f'END {{ if (!e) print "{ENABLE_VAR}=" on; if (!p) print "{PERCENT_VAR}=" pct }}')


# -- builders (pure) ------------------------------------------------------------------------------
def read_command(layout: AppLayout, env_file: str | None = None) -> Command:
    """The flag lines of the app's env file (`env_file`: another one, e.g. a side-by-side slot's)."""
    return cmd("grep", "-E", f"^({'|'.join(FLAG_VARS)})=", env_file or layout.env_file)


def write_command(layout: AppLayout, state: FlagState, env_file: str | None = None) -> Command:
    values = state.env()
    path = env_file or layout.env_file
    scratch = f"{posixpath.dirname(path)}/.{posixpath.basename(path)}.flag"
    return cmd("cp", "-p", path, scratch, AND,
               "awk", "-v", f"on={values[ENABLE_VAR]}", "-v", f"pct={values[PERCENT_VAR]}", AWK,
               path, TO, scratch, AND, "mv", "-f", scratch, path)


def parse(stdout: str) -> FlagState | None:
    """The flag from grep's lines (the last of each wins, as dotenv reads them)."""
    values = {}
    for line in stdout.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in FLAG_VARS:
            values[key] = value
    return state_from_env(values)


# -- units ------------------------------------------------------------------------------------------
class Unit(Protocol):
    name: str
    app: str
    host: str | None

    def read(self) -> FlagState | None: ...
    def apply(self, state: FlagState) -> gates.GateResult: ...


@dataclass
class AppTarget:
    """What a host unit needs of its app: its layout, and how a new value is applied to one host -
    written, reloaded, checked (the release engine's reload turn, deploy.engine; see deploy.phases.site)."""

    app: str
    layout: AppLayout
    apply: Callable[[Host, FlagState], gates.GateResult]
    # the env file the running app reads on a host (side by side: its serving slot's); None: the app's
    env_file: Callable[[Host], str] | None = None


@dataclass
class HostUnit:
    target: AppTarget
    conn: Host

    @property
    def name(self) -> str:
        return f"{self.conn.name}/{self.target.app}"

    @property
    def app(self) -> str:
        return self.target.app

    @property
    def host(self) -> str:
        return self.conn.name

    def read(self) -> FlagState | None:
        path = self.target.env_file(self.conn) if self.target.env_file else self.target.layout.env_file
        res = self.conn.run(read_command(self.target.layout, path), check=False, timeout=30)
        if res.exit_code >= MISSING:
            raise StepFailed(f"{self.name}: cannot read {path} "
                             f"({(res.stderr.strip() or 'missing').splitlines()[-1]}): is {self.app} deployed?")
        return parse(res.stdout)

    def apply(self, state: FlagState) -> gates.GateResult:
        """Write, reload (out of the LB meanwhile), then wait until the app serves `state`."""
        return self.target.apply(self.conn, state)


# -- one rolling change -----------------------------------------------------------------------------
@dataclass
class UnitRun:
    unit: Unit
    before: FlagState | None = None
    changed: bool = False           # this run wrote the unit's flag
    now: FlagState | None = None    # what it serves at the end (as far as we know)
    gate: gates.GateResult | None = None
    note: str = ""

    def row(self) -> dict:
        return {"unit": self.unit.name, "app": self.unit.app, "host": self.unit.host,
                "before": self.before.as_dict() if self.before else None,
                "now": self.now.as_dict() if self.now else None, "changed": self.changed, "note": self.note,
                "gate": self.gate.as_dict() if self.gate else None}


def observe(fleet: Fleet, runs: list[UnitRun], default: FlagState) -> dict[str, str]:
    """Every unit's flag, read in parallel, host by host (nothing changes); returns why units
    could not be read, by unit name. A unit whose env file holds no flag has `default`."""
    failed: dict[str, str] = {}

    def read(r: UnitRun) -> None:
        try:
            r.before = r.now = r.unit.read() or default
        except Exception as exc:
            failed[r.unit.name] = str(exc)

    def look(host: Host) -> None:
        for r in runs:
            if r.unit.host == host.name:
                read(r)

    for r in (r for r in runs if r.unit.host is None):
        read(r)
    names = {r.unit.host for r in runs}
    hosts = [h for h in fleet.hosts if h.name in names]
    if hosts:
        fleet.run(look, hosts=hosts, size=len(hosts), max_fail=len(hosts))
    return failed


@dataclass
class Change:
    """Move every unit to `target`: the apps side by side, each app's hosts batch by batch.

    Reverting (up moves): one undo, registered before anything changes, puts every unit this
    run touched back on its own previous value - in parallel like the change, since users see
    the failure until it is done. Not reverting (a rollback): carry on past a failed unit and
    lower what can be lowered; the failures are reported."""

    runs: list[UnitRun]
    target: FlagState
    batch_size: int | str
    journal: Callable[..., object]           # deploy.engine.context.Journal.step (thread-safe)
    ex: Executor
    info: Callable[[str], None]
    revert_on_failure: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, fleet: Fleet) -> None:
        if self.revert_on_failure:
            self.ex.on_failure("put every unit this run changed back at its previous value",
                               lambda: self._put_back(fleet))
        errors = self._each(fleet, self._one, self.runs, "", stop_on_failure=self.revert_on_failure)
        if errors:
            raise StepFailed("; ".join(errors))

    def _put_back(self, fleet: Fleet) -> None:
        self._stop.clear()
        errors = self._each(fleet, self._revert, [r for r in self.runs if r.changed], "back: ",
                            stop_on_failure=False)
        if errors:
            raise StepFailed("; ".join(errors))

    def _each(self, fleet: Fleet, work: Callable[[UnitRun], None], runs: list[UnitRun], label: str,
              stop_on_failure: bool) -> list[str]:
        apps = list(dict.fromkeys(r.unit.app for r in runs))
        if not apps:
            return []
        with ThreadPoolExecutor(max_workers=len(apps)) as pool:
            found = pool.map(lambda app: self._app(fleet, work, [r for r in runs if r.unit.app == app], app,
                                                   label, stop_on_failure), apps)
            return [error for errors in found for error in errors]

    def _app(self, fleet: Fleet, work: Callable[[UnitRun], None], runs: list[UnitRun], app: str, label: str,
             stop_on_failure: bool) -> list[str]:
        errors: list[str] = []
        for r in (r for r in runs if r.unit.host is None):
            try:
                work(r)
            except Exception as exc:
                errors.append(str(exc))
                if stop_on_failure:
                    self._stop.set()
                    return errors
        by_host = {r.unit.host: r for r in runs if r.unit.host is not None}
        hosts = [h for h in fleet.hosts if h.name in by_host]
        if not hosts:
            return errors
        result = fleet.run(lambda h: work(by_host[h.name]), hosts=hosts, size=self.batch_size,
                           max_fail=0 if stop_on_failure else len(hosts),
                           on_batch=lambda b: self.info(f"{label}{app}: {', '.join(h.name for h in b)}"))
        failed = [o for o in result.failed if o.error != STOPPED]
        if failed:
            errors.append(f"{label}flag not served on {', '.join(f'{o.host}/{app}' for o in failed)}: "
                          + "; ".join(o.error or "failed" for o in failed))
            if stop_on_failure:
                self._stop.set()
        return errors

    def _one(self, r: UnitRun) -> None:
        if self._stop.is_set():          # another app's unit failed: start nothing new
            raise StepFailed(STOPPED)
        before = r.before
        with self.journal("flag", host=r.unit.host) as notes:
            notes.update(app=r.unit.app, before=before.as_dict() if before else None, target=self.target.as_dict())
            r.changed, r.now = True, None   # before the write: a half-done change is put back too
            r.gate = r.unit.apply(self.target)
            notes["gate"] = r.gate.as_dict()
            if not r.gate.ok:
                raise StepFailed(f"{r.unit.name}: does not serve {self.target.describe()}: {r.gate.reason}")
        r.now = self.target
        self.info(f"{r.unit.name}: serves {self.target.describe()} ({r.gate.attempts} polls, {r.gate.seconds:.1f}s)")

    def _revert(self, r: UnitRun) -> None:
        if r.before is None or r.before == r.now:
            r.note = r.note or "unchanged"
            return
        gate = r.unit.apply(r.before)
        if not gate.ok:
            raise StepFailed(f"{r.unit.name}: back at {r.before.describe()} but {gate.reason}")
        r.now, r.note = r.before, "put back"

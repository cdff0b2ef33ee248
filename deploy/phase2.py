"""Phase 2 (the API release) and rollback.backend: rolling, drained, health-gated, undone.

    deploy.phase2     build once -> upload + verify on every API host -> batch by batch:
                      drain at the LB, switch `current`, restart, health gate, back in the LB
                      -> smoke checks -> prune old releases
    rollback.backend  the same rolling switch to the previous release (or --to RELEASE)

Each host's undo is registered with the executor when its turn starts, so any failure (a gate,
a crashed host, Ctrl-C) puts every host this run touched back on what it ran before, and
leaves the hosts it never reached alone. The result carries a per-host table of what each runs.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from deploy import artifact as artifacts
from deploy import flag_journal, gates, lb as lb_mod, releases, side_by_side, targets, worker_gate
from deploy.cli import Run
from deploy.commands import haproxy
from deploy.commands import release as rc
from deploy.commands.release import AppLayout, HostReleases
from deploy.config import AppConfig, Environment, HostConfig
from deploy.errors import ConfigError, DeployError, StepFailed
from deploy.executor import Executor, executing
from deploy.hosts import Fleet, Host
from deploy.process.base import ProcessManager, Program
from deploy.secrets import Secret, mask

APP = "api"
PHASE = "phase2"
ROLLBACK_PHASE = "rollback-backend"
PENDING_SHA = "<sha256 of the artifact>"


# -- what one run works with -----------------------------------------------------------------------
@dataclass
class Context:
    env: Environment
    app: str
    config: AppConfig
    layout: AppLayout
    manager: ProcessManager
    program: Program
    spec: gates.SmokeSpec
    lb: lb_mod.HAProxy | None
    hosts: list[HostConfig]
    # the feature flag's live values, rendered into a new env file over what config says
    env_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, env: Environment, app: str = APP) -> "Context":
        """Everything from config, validated before anything changes (ConfigError: exit 2)."""
        config = releases.app_config(env, app)
        hosts = env.hosts_with(config.role)
        if not hosts:
            raise ConfigError(f"{env.source_file}: no host has the role {config.role!r} (apps.{app}.role)")
        ctx = cls(env=env, app=app, config=config, layout=releases.layout_for(env, app),
                  manager=releases.manager_for(env), program=releases.program_for(env, app),
                  spec=gates.load_spec(Path(env.root)), lb=lb_mod.for_env(env), hosts=hosts)
        if ctx.lb:
            for host in hosts:  # backend and server names must suit the runtime API
                haproxy.set_state(ctx.backend, host.name, "ready")
        return ctx

    def check_lb(self) -> None:
        """Before anything changes: the LB answers and knows a server for every host."""
        if not self.lb:
            return
        known = haproxy.parse_servers_state(self.lb.send(haproxy.show_servers_state(self.backend)))
        missing = [h.name for h in self.hosts if h.name not in known]
        if missing:
            raise ConfigError(f"load balancer {self.lb.endpoint}: backend {self.backend!r} has no server "
                              f"{', '.join(missing)} (servers must be named after the hosts)")

    @property
    def backend(self) -> str:
        """The LB backend of this app: its process name; servers are named after the hosts."""
        return self.config.process

    def health_url(self, host: HostConfig) -> str:
        return releases.health_url(self.env, self.app, host)


@dataclass
class HostRun:
    """What happened to one host in this run (filled in by the worker threads)."""

    name: str
    config: HostConfig
    before: HostReleases | None = None
    target: str | None = None          # the release this run moves the host to
    previous: str | None = None        # where `previous` points after the switch
    uploaded: bool = False
    drained: bool = False              # taken out of the load balancer by this run
    switched: bool = False
    in_service: bool = False           # back in the load balancer on the new release
    gate: gates.GateResult | None = None
    now: str | None = None
    note: str = ""


@dataclass
class Outcome:
    ok: bool
    release: str | None = None
    dry_run: bool = False
    manifest: dict | None = None
    hosts: list[dict] = field(default_factory=list)
    smoke: list[dict] = field(default_factory=list)
    pruned: dict[str, list[str]] = field(default_factory=dict)
    plan: list[dict] = field(default_factory=list)
    undo: list[dict] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict:
        data = {"release": self.release, "hosts": self.hosts}
        if self.dry_run:
            data.update(dry_run=True, plan=self.plan)
            return data
        data.update(manifest=self.manifest, smoke=self.smoke, pruned=self.pruned)
        if not self.ok:
            data.update(error=self.error, undo=self.undo, _exit_code=self.exit_code)
        return data


class Journal:
    """ex.event from the fleet's worker threads: one writer at a time on the journal's session."""

    def __init__(self, ex: Executor):
        self.ex = ex
        self._lock = threading.Lock()

    def event(self, action: str, outcome: str, **kw: Any) -> None:
        with self._lock:
            self.ex.event(action, outcome, **kw)

    @contextmanager
    def step(self, action: str, host: str | None = None, release: str | None = None) -> Iterator[dict]:
        notes: dict[str, Any] = {}
        started = time.monotonic()
        try:
            yield notes
        except BaseException as exc:
            notes["error"] = mask(str(exc)) or type(exc).__name__
            self.event(action, "failed", host=host, release=release, duration_ms=_ms(started), details=notes)
            raise
        self.event(action, "ok", host=host, release=release, duration_ms=_ms(started), details=notes)


# -- deploy.phase2 -----------------------------------------------------------------------------------
def phase2(run: Run, artifact: str | None = None, dry_run: bool = False, lock_wait: float = 0,
           app: str = APP) -> Outcome:
    """Release the API: build once, upload, then roll it out batch by batch (see module doc)."""
    env = run.env
    ctx = Context.load(env, app)
    given = artifacts.check_given(artifact)
    token = _smoke_token(ctx)
    with Fleet(env, ctx.hosts) as fleet:
        runs = {h.name: HostRun(h.name, h.config) for h in fleet.hosts}
        if dry_run:
            ctx.env_overrides = flag_journal.live_env_quietly(run)
            release = artifacts.planned_release(env, app, given)
            down = observe(fleet, ctx, runs)
            for r in runs.values():
                r.target, r.previous = release, (r.before.current if r.before else None)
                r.note = f"unreachable: {down[r.name]}" if r.name in down else ""
            return dry_run_outcome(run, ctx, runs, release, given)
        ctx.check_lb()
        holder: dict[str, Any] = {}
        try:
            with executing(run, PHASE, lock_wait) as ex:
                holder["ex"] = ex
                return _deploy(run, ctx, fleet, runs, ex, given, token, holder)
        except KeyboardInterrupt:
            report_where_now(run, ctx, fleet, runs, holder.get("release"))
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise  # lock held (3), bad input (2): nothing was changed
            return failed(run, ctx, fleet, runs, holder, exc)


def _deploy(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRun], ex: Executor,
            given: Path | None, token: Secret | None, holder: dict) -> Outcome:
    journal = Journal(ex)
    beside = side_by_side.chosen(ctx)   # issue 12.2: boot beside the old release, then move the LB
    ctx.env_overrides = flag_journal.live_env(ex.db, ctx.env.name)
    run.out.info("phase 2: building the artifact ..." if given is None else f"phase 2: packing {given} ...")
    with ex.step("build") as notes:
        built = artifacts.prepare(ctx.env, ctx.app, given)
        notes.update(built.manifest.as_dict())
    release = holder["release"] = ex.release = built.manifest.release
    run.out.info(f"release {release}: {built.manifest.size / 1e6:.1f} MB, sha256 {built.manifest.sha256[:12]}...")

    if beside:
        smoke, pruned = side_by_side.release(run, ctx, fleet, runs, ex, journal, built, token)
    else:
        upload(run, ctx, fleet, runs, built, journal, ex)
        for r in runs.values():
            r.target, r.previous = release, r.before.current
        roll(run, ctx, fleet, runs, journal, ex, with_env=True)
        smoke = smoke_checks(run, ctx, ex, release, token)
        pruned = prune(run, ctx, fleet, runs, journal, release)
    for r in runs.values():
        r.now = release
    table(run, "Phase 2 done", runs, release)
    return Outcome(ok=True, release=release, manifest=built.manifest.as_dict(), hosts=host_rows(runs),
                   smoke=[s.as_dict() for s in smoke], pruned=pruned)


def _smoke_token(ctx: Context) -> Secret | None:
    if not gates.needs_token(ctx.spec):
        return None
    token = gates.smoke_token(ctx.spec.token, ctx.env.app_env(ctx.app))
    if token is None:
        raise ConfigError(f"{gates.SMOKE_FILE}: a check needs a bearer token: set ${gates.TOKEN_VAR} "
                          f"or JWT_SECRET in apps.{ctx.app}.env")
    return token


def observe(fleet: Fleet, ctx: Context, runs: dict[str, HostRun]) -> dict[str, str]:
    """Read every host's releases (read-only); returns the errors of hosts that did not answer."""
    def look(host: Host) -> HostReleases:
        runs[host.name].before = releases.inspect(host, ctx.layout)
        return runs[host.name].before

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    return {o.host: o.error or "failed" for o in result.failed}


def upload(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRun], built: artifacts.Artifact,
           journal: Journal, ex: Executor) -> None:
    """To every host at once, before any switch: nothing that runs changes here."""
    release = built.manifest.release

    def work(host: Host) -> None:
        r = runs[host.name]
        with journal.step("upload", host=host.name, release=release) as notes:
            r.before = releases.inspect(host, ctx.layout)
            notes["before"] = r.before.current
            prepare, *rest = releases.upload_steps(
                ctx.env, ctx.app, host.config, release, built.path, built.manifest.sha256,
                built.manifest.git_sha, ctx.manager, ctx.program, ctx.env_overrides)
            releases.apply(host, [prepare])   # refuses a release id the host already has ...
            ex.on_failure(f"remove release {release} from {host.name}",   # ... so this removes only ours
                          lambda: releases.remove_unless_current(host, ctx.layout, release))
            releases.apply(host, rest)
            r.uploaded = True
        run.out.info(f"{host.name}: uploaded and verified {release}")

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    _raise_failed(result, "upload")


def roll(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRun], journal: Journal,
         ex: Executor, with_env: bool) -> None:
    """Batch by batch (env.batches): drain, switch, restart, health gate, ready."""
    todo = []
    for host in fleet.hosts:
        r = runs[host.name]
        if r.target == r.before.current:
            r.note = f"already on {r.target}"
        else:
            todo.append(host)
    if not todo:
        return

    def work(host: Host) -> None:
        r = runs[host.name]
        # Registered before anything changes on the host: the undo checks what got done.
        ex.on_failure(f"put {host.name} back on {r.before.current or 'nothing'}",
                      lambda: undo_host(run, ctx, host, r, with_env))
        if ctx.lb:
            with journal.step("drain", host=host.name, release=r.target) as notes:
                r.drained = True
                drained = ctx.lb.drain(ctx.backend, host.name, ctx.spec.drain.deadline, ctx.spec.drain.interval)
                notes.update(seconds=round(drained.seconds, 2), sessions_left=drained.sessions_left)
        with journal.step("switch", host=host.name, release=r.target) as notes:
            notes.update(before=r.before.current, previous=r.previous)
            r.switched = True   # before the command: a half-done switch is undone as well
            releases.apply(host, releases.switch_steps(ctx.layout, r.target, r.previous, with_env))
        with journal.step("restart", host=host.name, release=r.target) as notes:
            with explained(host, ctx, notes):
                releases.apply(host, releases.restart_steps(ctx.manager, ctx.program))
        with journal.step("health", host=host.name, release=r.target) as notes:
            r.gate = worker_gate.wait_ready(host, ctx.manager, ctx.program, ctx.health_url(host.config),
                                            r.target, ctx.spec.health)
            notes.update(r.gate.as_dict())
            if not r.gate.ok:
                with explained(host, ctx, notes):
                    raise StepFailed(f"{host.name}: health gate: {r.gate.reason}")
        if ctx.lb:
            with journal.step("ready", host=host.name, release=r.target):
                ctx.lb.ready(ctx.backend, host.name)
                r.in_service = True
        run.out.info(f"{host.name}: on {r.target}, healthy ({r.gate.attempts} polls, {r.gate.seconds:.1f}s)")

    def announce(batch: list[Host]) -> None:
        run.out.info(f"batch: {', '.join(h.name for h in batch)}")

    result = fleet.run(work, hosts=todo, size=ctx.env.batches.size, max_fail=ctx.env.batches.max_fail,
                       on_batch=announce)
    _raise_failed(result, "rollout")


@contextmanager
def explained(host: Host, ctx: Context, notes: dict) -> Iterator[None]:
    """A failed start or gate carries the app's last error-log line: the why, in the journal."""
    try:
        yield
    except StepFailed as exc:
        log = ctx.program.log_file("err")
        try:
            lines = host.run(rc.tail(log), check=False, timeout=15).stdout.strip().splitlines()
        except Exception:
            lines = []
        if not lines:
            raise
        notes["log_tail"] = lines
        raise StepFailed(f"{exc} (last line of {log}: {lines[-1].strip()[:300]})") from None


def undo_host(run: Run, ctx: Context, host: Host, r: HostRun, with_env: bool) -> None:
    """Put one host back on what it ran before this run (links, env file, process, LB)."""
    if r.in_service and ctx.lb:   # it serves traffic again: out of the LB before its restart
        ctx.lb.drain(ctx.backend, host.name, ctx.spec.drain.deadline, ctx.spec.drain.interval)
    if r.switched:
        releases.apply(host, releases.revert_steps(ctx.layout, r.before, with_env, ctx.manager, ctx.program))
        if r.before.current:
            gate = worker_gate.wait_ready(host, ctx.manager, ctx.program, ctx.health_url(host.config),
                                          r.before.current, ctx.spec.health)
            if not gate.ok:
                raise StepFailed(f"{host.name}: back on {r.before.current} but {gate.reason}")
        r.note = "switched back"
    if r.drained and ctx.lb:
        ctx.lb.ready(ctx.backend, host.name)


def smoke_checks(run: Run, ctx: Context, ex: Executor, release: str,
                 token: Secret | None) -> list[gates.SmokeResult]:
    """The runbook's step 2.2 against every API host, after the last batch."""
    if not ctx.spec.checks:
        return []
    bases = [releases.base_url(ctx.env, ctx.app, h) for h in ctx.hosts]
    with ex.step("smoke", release=release) as notes:
        results = gates.run_smoke(ctx.spec, bases, token)
        notes["checks"] = [r.as_dict() for r in results]
        for result in results:
            run.out.item("pass" if result.ok else "fail", f"smoke: {result.name}", f"{result.url}: {result.detail}")
        failed = [r for r in results if not r.ok]
        if failed:
            first = failed[0]
            raise StepFailed(f"smoke check {first.name!r} failed at {first.url}: {first.detail}"
                             + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""))
    return results


def prune(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRun], journal: Journal,
          release: str) -> dict[str, list[str]]:
    """Keep env.keep_releases per host, never current or previous. A failure only warns."""
    def work(host: Host) -> list[str]:
        before = runs[host.name].before
        doomed = rc.prunable([*before.releases, release], ctx.env.keep_releases, release, before.current)
        with journal.step("prune", host=host.name, release=release) as notes:
            notes["removed"] = doomed
            if doomed:
                host.run(rc.prune(ctx.layout, doomed), timeout=300)
        return doomed

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    for failure in result.failed:
        run.out.warn(f"{failure.host}: old releases not pruned: {failure.error}")
    return {o.host: o.value for o in result.outcomes if o.ok and o.value}


def _raise_failed(result, what: str) -> None:
    if result.ok:
        return
    failed = result.failed
    detail = "; ".join(o.error or "failed" for o in failed) or "stopped"
    raise StepFailed(f"{what} failed on {', '.join(o.host for o in failed)}: {detail}")


# -- rollback.backend ---------------------------------------------------------------------------------
def rollback_backend(run: Run, to: str | None = None, dry_run: bool = False, lock_wait: float = 0,
                     app: str = APP, phase: str = ROLLBACK_PHASE, ctx: Context | None = None) -> Outcome:
    """Every API host back on its previous release (or `to`), rolling and health-gated."""
    env = run.env
    if to is not None and not rc.valid_release_id(to):
        raise ConfigError(f"--to {to!r} is not a release id")
    ctx = ctx or Context.load(env, app)
    with Fleet(env, ctx.hosts) as fleet:
        runs = {h.name: HostRun(h.name, h.config) for h in fleet.hosts}
        plan_rollback(fleet, ctx, runs, to)
        if dry_run:
            return dry_run_outcome(run, ctx, runs, to or "previous", None, rollback=True)
        ctx.check_lb()
        holder: dict[str, Any] = {"release": to}
        try:
            with executing(run, phase, lock_wait) as ex:
                holder["ex"] = ex
                plan_rollback(fleet, ctx, runs, to)   # again under the lock: a deploy may have ended
                if side_by_side.chosen(ctx):   # issue 12.2: the previous release boots beside
                    side_by_side.rollback(run, ctx, fleet, runs, ex, Journal(ex))
                else:
                    roll(run, ctx, fleet, runs, Journal(ex), ex, with_env=False)
        except KeyboardInterrupt:
            report_where_now(run, ctx, fleet, runs, None)
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise
            return failed(run, ctx, fleet, runs, holder, exc)
    for r in runs.values():
        r.now = r.target
    table(run, "Rolled back", runs, None)
    return Outcome(ok=True, release=to, hosts=host_rows(runs))


def plan_rollback(fleet: Fleet, ctx: Context, runs: dict[str, HostRun], to: str | None) -> None:
    """Each host's target and its `previous` after the switch; refuses before anything changes."""
    down = observe(fleet, ctx, runs)
    if down:
        raise StepFailed("cannot read the releases of " + "; ".join(f"{h}: {e}" for h, e in down.items())
                         + " - nothing was changed")
    to = to or mixed_fleet_target(runs)
    for r in runs.values():
        r.target = rollback_target(r.name, r.before, to)
        r.previous = r.before.older_than(r.target)


def mixed_fleet_target(runs: dict[str, HostRun]) -> str | None:
    """Hosts on different releases (a deploy killed half-way) go back together to the oldest of
    them - the release the hosts it never reached still run - not each to its own previous, which
    would split the fleet across two older releases. None when the hosts agree."""
    currents = {r.before.current for r in runs.values() if r.before and r.before.current}
    return min(currents) if len(currents) > 1 else None   # release ids sort by their UTC time


def rollback_target(host: str, before: HostReleases, to: str | None) -> str:
    """Where a host goes: --to (which it must hold) or its previous release."""
    held = ", ".join(before.releases) or "none"
    if to is not None:
        if to not in before.releases:
            raise ConfigError(f"{host}: has no release {to!r} (it has: {held})")
        return to
    if not before.previous or before.previous not in before.releases:
        raise ConfigError(f"{host}: no previous release to roll back to (it has: {held}); "
                          "choose one with --to RELEASE")
    return before.previous


# -- deploy.releases -------------------------------------------------------------------------------------
def list_releases(run: Run, app: str = APP, only: tuple[list[str], list[str]] = ([], [])) -> list[dict]:
    """Per host (`only`: --host and --role names): its releases, oldest first, current and previous marked."""
    env = run.env
    layout = releases.layout_for(env, app)
    hosts = targets.select(env, env.hosts_with(releases.app_config(env, app).role), *only, what=app)
    found: dict[str, HostReleases] = {}

    def look(host: Host) -> None:
        found[host.name] = releases.inspect(host, layout)

    with Fleet(env, hosts) as fleet:
        result = fleet.run(look, size=len(fleet.hosts) or 1, max_fail=len(fleet.hosts))
    down = {o.host: o.error or "failed" for o in result.failed}
    rows = []
    for host in hosts:
        before = found.get(host.name, HostReleases())
        rows.append({"host": host.name, "reachable": host.name not in down, "error": down.get(host.name),
                     "current": before.current, "previous": before.previous,
                     "releases": [{"id": rel, "current": rel == before.current, "previous": rel == before.previous}
                                  for rel in before.releases]})
    return rows


# -- results ------------------------------------------------------------------------------------------------
def failed(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRun], holder: dict,
           exc: BaseException) -> Outcome:
    """After the executor undid what it could: what each host runs now, and why we stopped."""
    error = mask(str(exc)) or type(exc).__name__
    release = holder.get("release")
    report_where_now(run, ctx, fleet, runs, release)
    ex = holder.get("ex")
    return Outcome(ok=False, release=release, hosts=host_rows(runs), error=error,
                   undo=list(ex.undo_report) if ex else [],
                   exit_code=exc.exit_code if isinstance(exc, DeployError) else 1)


def report_where_now(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRun], release: str | None) -> None:
    def look(host: Host) -> str | None:
        return releases.current_release(host, ctx.env, ctx.app)

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    for outcome in result.outcomes:
        r = runs[outcome.host]
        before = r.before.current if r.before else None
        if not outcome.ok:
            r.now, r.note = None, f"unreachable: {outcome.error}"
            continue
        r.now = outcome.value
        if r.switched and r.now == before:
            r.note = "switched back"
        elif r.switched:
            r.note = f"NOT switched back (undo failed); runs {r.now or 'nothing'}"
        else:
            r.note = "untouched" if r.now == before else f"runs {r.now or 'nothing'}"
    table(run, "What each host runs now", runs, release)


def host_rows(runs: dict[str, HostRun]) -> list[dict]:
    return [{"host": r.name, "before": r.before.current if r.before else None, "now": r.now,
             "target": r.target, "switched": r.switched, "note": r.note,
             "health": r.gate.as_dict() if r.gate else None} for r in runs.values()]


def table(run: Run, title: str, runs: dict[str, HostRun], release: str | None) -> None:
    rows = []
    for r in runs.values():
        health = f"ok in {r.gate.seconds:.1f}s" if r.gate and r.gate.ok else (r.gate.reason if r.gate else "")
        rows.append((r.name, r.before.current if r.before else "?", r.now or "-", health, r.note))
    run.out.table(title, ["host", "before", "now", "health gate", "note"], rows)


# -- --dry-run ---------------------------------------------------------------------------------------------
def dry_run_outcome(run: Run, ctx: Context, runs: dict[str, HostRun], release: str, given: Path | None,
                    rollback: bool = False, smoke: bool = True) -> Outcome:
    """The plan, host by host, with the commands a run would send (secrets as ***)."""
    env = ctx.env
    out = run.out
    what = ("rollback.backend" if ctx.app == APP else f"rollback of {ctx.app}") if rollback \
        else f"{'phase 2: ' if ctx.app == APP else ''}release {release} of {ctx.app}"
    out.line(f"{what} - dry run, nothing changes")
    out.line(f"hosts: {', '.join(r.name for r in runs.values())}; batches of {env.batches.size}, "
             f"max_fail {env.batches.max_fail}; process manager {ctx.manager.name}"
             + (f"; load balancer {ctx.lb.endpoint} (backend {ctx.backend})" if ctx.lb else ""))
    if ctx.lb:
        try:
            ctx.check_lb()
        except DeployError as exc:
            out.warn(f"a run would stop here: {exc}")
    if not rollback:
        build = ctx.config.commands.build
        if given is not None:
            out.line(f"artifact: {given} (packed as {release}.tar.gz)")
        elif build:
            out.line(f"build (local): {build}  in {ctx.config.source}")
        else:
            out.line(f"artifact: the source folder {ctx.config.source} as it is")
    plan = []
    tarball = artifacts.artifacts_dir(env, ctx.app) / f"{release}.tar.gz"
    for r in runs.values():
        before = r.before or HostReleases()
        out.line("")
        state = r.note or f"now {before.current or 'nothing'}, previous {before.previous or 'none'}"
        out.line(f"{r.name} ({releases.host_address(r.config)}): {state}")
        steps: list[str] = []
        if not rollback:
            steps += [s.show() for s in releases.upload_steps(
                env, ctx.app, r.config, release, tarball, PENDING_SHA, None, ctx.manager, ctx.program,
                ctx.env_overrides)]
        if r.target == before.current:
            steps.append(f"skip    already on {r.target}")
        else:
            if ctx.lb:
                steps += [f"lb      {haproxy.set_state(ctx.backend, r.name, 'drain')}",
                          f"lb      wait for 0 sessions (at most {ctx.spec.drain.deadline:g}s)",
                          f"lb      {haproxy.set_state(ctx.backend, r.name, 'maint')}"]
            steps += [s.show() for s in releases.switch_steps(ctx.layout, r.target, r.previous, not rollback)]
            steps += [s.show() for s in releases.restart_steps(ctx.manager, ctx.program)]
            h = ctx.spec.health
            steps.append(f"gate    GET {ctx.health_url(r.config)} until 200 with version {r.target}, "
                         f"{h.passes} in a row within {h.deadline:g}s")
            if ctx.lb:
                steps.append(f"lb      {haproxy.set_state(ctx.backend, r.name, 'ready')}")
        for line in steps:
            out.line(f"  {line}")
        plan.append({"host": r.name, "before": before.current, "target": r.target, "steps": steps})
    if not rollback:
        out.line("")
        out.line("after the last batch:")
        for base in (releases.base_url(env, ctx.app, h) for h in ctx.hosts if smoke):
            for check in ctx.spec.checks:
                auth = " with a bearer token" if check.auth == "bearer" else ""
                out.line(f"  smoke   {check.method} {base}{check.path}{auth} -> {check.expect}")
        out.line(f"  prune   keep {env.keep_releases} releases per host (never current or previous)")
    return Outcome(ok=True, release=release, dry_run=True, plan=plan,
                   hosts=[{"host": r.name, "before": r.before.current if r.before else None,
                           "target": r.target} for r in runs.values()])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

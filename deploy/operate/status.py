"""`invoke status`: what runs where - each host reachable or not, each app's process state, and
the release each app's process actually serves (its health endpoint's version) beside the release
its `current` link names: after a killed deploy the two can differ, and status must say so."""

from __future__ import annotations

from dataclasses import dataclass, field

import json

from deploy.flag import units as flag
from deploy.gates import health as gates
from deploy import process
from deploy.engine import side_by_side
from deploy.commands.release import AppLayout
from deploy.config.environment import Environment
from deploy.hosts.fleet import Fleet, Host
from deploy.process.base import ProcessState
from deploy.releases.steps import current_release, host_address
from deploy.flag.rollout import FlagState


# Process states (deploy.process.base) in which an app that has a release serves nothing; "starting"
# is not among them (a restart in progress, or a crash loop the manager has not given up on yet).
DOWN = {"stopped", "fatal", "errored", "absent"}

NO_PROCESS = {"static": "no process: its web server serves current/",
              "command": "no process: published from the deploying machine"}


@dataclass
class HostStatus:
    host: str
    address: str
    reachable: bool
    error: str | None = None
    apps: dict[str, ProcessState] = field(default_factory=dict)
    releases: dict[str, str | None] = field(default_factory=dict)
    flags: dict[str, FlagState | None] = field(default_factory=dict)   # from each app's env file
    serving: dict[str, Served] = field(default_factory=dict)           # what each process answers
    manager: str = ""

    def problems(self) -> list[str]:
        """Each app with a `current` release whose process is down (stopped, failed, not there), and
        each whose running process serves another release than `current`, or does not answer."""
        found = []
        for app, state in self.apps.items():
            linked = self.releases.get(app)
            if linked and state.state in DOWN:
                found.append(f"{self.host}/{app}: current is {linked} but its process is {state.state}"
                             f"{f' ({state.detail})' if state.detail else ''}: nothing serves it "
                             "(invoke restart, re-run the phase, or roll back)")
        for app, served in self.serving.items():
            state = self.apps.get(app)
            if state is None or state.state != "running":
                continue
            linked = self.releases.get(app)
            if served.version is None:
                found.append(f"{self.host}/{app}: {served.error or 'no version'} on {served.url}")
            elif linked and served.version != linked:
                found.append(f"{self.host}/{app}: serves {served.version} but current is {linked} "
                             "(switched, not restarted: re-run the phase or roll back)")
            written = self.flags.get(app)
            if served.flag is not None and written is not None and served.flag != written:
                found.append(f"{self.host}/{app}: serves flag {served.flag.describe()} but its env file says "
                             f"{written.describe()} (written, not reloaded: re-run the phase 3 step or "
                             "rollback.frontend --flag-off)")
        return found

    def as_dict(self) -> dict:
        return {
            "host": self.host, "address": self.address, "reachable": self.reachable,
            "error": self.error, "manager": self.manager,
            "apps": {app: {"process": s.name, "state": s.state, "pid": s.pid, "uptime": s.uptime,
                           "detail": s.detail, "release": self.releases.get(app),
                           "flag": self.flags[app].as_dict() if self.flags.get(app) else None,
                           "serving": self.serving[app].version if app in self.serving else None,
                           "serving_flag": (self.serving[app].flag.as_dict()
                                            if app in self.serving and self.serving[app].flag else None),
                           "serving_error": self.serving[app].error if app in self.serving else None}
                     for app, s in self.apps.items()},
            "problems": self.problems(),
        }


@dataclass(frozen=True)
class Served:
    url: str
    version: str | None
    error: str | None = None
    flag: FlagState | None = None      # the feature flag the process reports (None: it reports none)


def served(url: str, timeout: float = 3) -> Served:
    """The version and feature flag an app's health endpoint reports (any status: a failing app
    still says which release it runs), or why there is none. After a phase 3 killed between a
    unit's env-file write and its reload, the flag served differs from the file's."""
    answer = gates.http_get(url, timeout)
    if answer.status is None:
        return Served(url, None, answer.error)
    try:
        body = json.loads(answer.body)
        version = body.get("version")
    except (ValueError, AttributeError):
        return Served(url, None, f"HTTP {answer.status}, not JSON")
    reported = gates.flag_served(body)
    return Served(url, str(version) if version is not None else None,
                  None if version is not None else f"HTTP {answer.status}, no version",
                  FlagState(reported["enabled"], reported["percentage"]) if reported else None)


def gather(env: Environment, hosts: list | None = None) -> list[HostStatus]:
    manager = process.for_environment(env)

    def probe(host: Host) -> tuple[dict[str, ProcessState], dict[str, str | None]]:
        apps = {name: app for name, app in env.apps.items() if app.role in host.config.roles}
        slot = {name: side_by_side.serving_slot(host, env, name) for name in apps}   # issue 12.2
        res = host.run(manager.status_command([slot[n].process for n in apps]), check=False, timeout=30)
        states = manager.parse_status(res.stdout + res.stderr, res.exit_code)
        releases = {name: current_release(host, env, name) for name in apps}
        flags = {name: _flag(host, env, name, slot[name].env_file) for name in apps}
        procs = {name: _state(manager, states, slot[name].process) if app.mode == "process" else
                 ProcessState(app.process, app.mode, detail=NO_PROCESS[app.mode]) for name, app in apps.items()}
        serving = {name: served(f"http://{host_address(host.config)}:{slot[name].port}{app.health_path}")
                   for name, app in apps.items() if app.mode == "process" and procs[name].state == "running"}
        return procs, releases, flags, serving

    with Fleet(env, hosts) as fleet:
        result = fleet.run(probe, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    outcomes = result.by_host()
    rows = []
    for host_cfg in (env.hosts if hosts is None else hosts):
        outcome = outcomes[host_cfg.name]
        apps, releases, flags, serving = outcome.value or ({}, {}, {}, {})
        rows.append(HostStatus(
            host=host_cfg.name, address=host_cfg.address or "local", reachable=outcome.ok,
            error=outcome.error, apps=apps, releases=releases, flags=flags, serving=serving,
            manager=manager.name,
        ))
    return rows


def _flag(host: Host, env: Environment, app: str, env_file: str | None = None) -> FlagState | None:
    """The feature flag in the app's env file (side by side: the serving slot's; only its two
    lines are read); None: no env file."""
    res = host.run(flag.read_command(AppLayout(env.deploy_to.rstrip("/") or "/", app), env_file),
                   check=False, timeout=30)
    return flag.parse(res.stdout) if res.exit_code < flag.MISSING else None


def _state(manager, states: dict[str, ProcessState], name: str) -> ProcessState:
    if name in states:
        return states[name]
    if not states:
        return ProcessState(name, "absent", detail=f"{manager.name} not running or {name} not deployed")
    return ProcessState(name, "absent", detail="not deployed")

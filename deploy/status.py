"""`invoke status`: what runs where - each host reachable or not, each app's process state."""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy import flag, process
from deploy.commands.release import AppLayout
from deploy.config import Environment
from deploy.hosts import Fleet, Host
from deploy.process.base import ProcessState
from deploy.releases import current_release
from deploy.rollout import FlagState


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
    manager: str = ""

    def as_dict(self) -> dict:
        return {
            "host": self.host, "address": self.address, "reachable": self.reachable,
            "error": self.error, "manager": self.manager,
            "apps": {app: {"process": s.name, "state": s.state, "pid": s.pid, "uptime": s.uptime,
                           "detail": s.detail, "release": self.releases.get(app),
                           "flag": self.flags[app].as_dict() if self.flags.get(app) else None}
                     for app, s in self.apps.items()},
        }


def gather(env: Environment, hosts: list | None = None) -> list[HostStatus]:
    manager = process.for_environment(env)

    def probe(host: Host) -> tuple[dict[str, ProcessState], dict[str, str | None]]:
        apps = {name: app for name, app in env.apps.items() if app.role in host.config.roles}
        res = host.run(manager.status_command([a.process for a in apps.values()]), check=False, timeout=30)
        states = manager.parse_status(res.stdout + res.stderr, res.exit_code)
        releases = {name: current_release(host, env, name) for name in apps}
        flags = {name: _flag(host, env, name) for name in apps}
        procs = {name: _state(manager, states, app.process) if app.mode == "process" else
                 ProcessState(app.process, app.mode, detail=NO_PROCESS[app.mode]) for name, app in apps.items()}
        return procs, releases, flags

    with Fleet(env, hosts) as fleet:
        result = fleet.run(probe, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    outcomes = result.by_host()
    rows = []
    for host_cfg in (env.hosts if hosts is None else hosts):
        outcome = outcomes[host_cfg.name]
        apps, releases, flags = outcome.value or ({}, {}, {})
        rows.append(HostStatus(
            host=host_cfg.name, address=host_cfg.address or "local", reachable=outcome.ok,
            error=outcome.error, apps=apps, releases=releases, flags=flags, manager=manager.name,
        ))
    return rows


def _flag(host: Host, env: Environment, app: str) -> FlagState | None:
    """The feature flag in the app's env file (only its two lines are read); None: no env file."""
    res = host.run(flag.read_command(AppLayout(env.deploy_to.rstrip("/") or "/", app)), check=False, timeout=30)
    return flag.parse(res.stdout) if res.exit_code < flag.MISSING else None


def _state(manager, states: dict[str, ProcessState], name: str) -> ProcessState:
    if name in states:
        return states[name]
    if not states:
        return ProcessState(name, "absent", detail=f"{manager.name} not running or {name} not deployed")
    return ProcessState(name, "absent", detail="not deployed")

"""One app on its hosts, loaded once from config, and the journal its worker threads share."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from deploy.gates import health as gates
from deploy.lb import admin as lb_mod
from deploy.output import progress
from deploy.releases import steps as releases, slots
from deploy.commands import haproxy
from deploy.commands.release import AppLayout
from deploy.config.environment import AppConfig, Environment, HostConfig
from deploy.engine.strategy import InPlace, Strategy, for_app
from deploy.errors import ConfigError
from deploy.executor import Executor
from deploy.process.base import ProcessManager, Program
from deploy.secrets import Secret, mask


@dataclass
class AppContext:
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
    strategy: Strategy = field(default_factory=InPlace)   # how a host moves to a release

    @classmethod
    def load(cls, env: Environment, app: str = "api") -> "AppContext":
        """Everything from config, validated before anything changes (ConfigError: exit 2)."""
        config = releases.app_config(env, app)
        hosts = env.hosts_with(config.role)
        if not hosts:
            raise ConfigError(f"{env.source_file}: no host has the role {config.role!r} (apps.{app}.role)")
        ctx = cls(env=env, app=app, config=config, layout=releases.layout_for(env, app),
                  manager=releases.manager_for(env), program=releases.program_for(env, app),
                  spec=gates.load_spec(Path(env.root)), lb=lb_mod.for_env(env), hosts=hosts)
        # side by side (deploy.releases.slots): a restart or a flag reload acts on the slot that serves
        ctx.strategy = for_app(slots.chosen(env, config) and config.alt_port is not None and ctx.lb is not None)
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

    def host_config(self, name: str) -> HostConfig:
        return next(h for h in self.hosts if h.name == name)


def smoke_token(ctx: AppContext, mint: bool = True) -> Secret | None:
    """The bearer token the smoke checks need (None when none needs one); ConfigError without it.

    mint=False (a dry run) checks that one can be had and returns None: minting loads PyJWT and
    cryptography (0.1-0.2 s of CPU) for a token nothing would send."""
    if not gates.needs_token(ctx.spec):
        return None
    app_env = ctx.env.app_env(ctx.app)
    token = gates.smoke_token(ctx.spec.token, app_env) if mint else None
    if token is None and (mint or not gates.token_available(app_env)):
        raise ConfigError(f"{gates.SMOKE_FILE}: a check needs a bearer token: set ${gates.TOKEN_VAR} "
                          f"or JWT_SECRET in apps.{ctx.app}.env")
    return token


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
        label = self.ex.step_label(action, host) if hasattr(self.ex, "step_label") else action
        try:
            # on a terminal, a host's step that lasts (drain, restart, health gate ...) shows its wait
            with progress.wait(label):
                yield notes
        except BaseException as exc:
            notes["error"] = mask(str(exc)) or type(exc).__name__
            self.event(action, "failed", host=host, release=release, duration_ms=_ms(started), details=notes)
            raise
        self.event(action, "ok", host=host, release=release, duration_ms=_ms(started), details=notes)


class NoJournal:
    """A turn that is journaled as a whole by its caller (a flag reload, an undo)."""

    @contextmanager
    def step(self, action: str, host: str | None = None, release: str | None = None) -> Iterator[dict]:
        yield {}


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

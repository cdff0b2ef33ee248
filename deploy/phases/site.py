"""The apps phase 3 works on, loaded once from config: the API and the web app, their hosts, and
the flag units (one per app per host; one local unit for a web app in command mode), each
reloaded by the release engine's reload turn (deploy.engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deploy.flag import units as flag_mod
from deploy.gates import health as gates, metrics as metrics_gate
from deploy.releases import steps as releases, slots
from deploy.phases import web_release
from deploy.engine import turn
from deploy.engine.context import AppContext, smoke_token
from deploy.engine.runs import HostRun
from deploy.engine.strategy import SideBySide
from deploy.engine.side_by_side import serving_slot
from deploy.releases.steps import Exec
from deploy.config.environment import Environment, HostConfig
from deploy.errors import ConfigError
from deploy.hosts.fleet import Fleet, Host
from deploy.flag.rollout import FlagState, state_from_env
from deploy.secrets import Secret

API, WEB = "api", "web"


@dataclass
class Site:
    env: Environment
    api: AppContext | None                      # None: no API app configured
    web: AppContext | None                      # process or static mode
    publisher: web_release.LocalPublisher | None   # command mode
    smoke: gates.SmokeSpec
    token: Secret | None = None
    hosts: list[HostConfig] = field(default_factory=list)

    @classmethod
    def load(cls, env: Environment) -> "Site":
        if API not in env.apps and WEB not in env.apps:
            raise ConfigError(f"{env.source_file}: phase 3 needs apps.api and/or apps.web")
        api = AppContext.load(env, API) if API in env.apps else None
        web = publisher = None
        if WEB in env.apps:
            if web_release.mode(env) == "command":
                publisher = web_release.LocalPublisher(env)
            else:
                web = web_release.host_context(env)
        smoke = gates.load_spec(Path(env.root))
        site = cls(env, api, web, publisher, smoke)
        site.token = smoke_token(api) if api else None
        names = {h.name for ctx in (api, web) if ctx for h in ctx.hosts}
        site.hosts = [h for h in env.hosts if h.name in names]
        return site

    @property
    def web_mode(self) -> str | None:
        return web_release.mode(self.env) if WEB in self.env.apps else None

    def default_state(self, app: str) -> FlagState:
        """What an app runs with when its env file has no flag lines: config, else off."""
        return state_from_env(self.env.app_env(app)) or FlagState(False, 0)

    @property
    def configured(self) -> FlagState:
        return self.default_state(API if API in self.env.apps else WEB)

    def view(self, fleet: Fleet, ctx: AppContext) -> Fleet:
        """The fleet's hosts of one app, sharing their connections (one per host per command)."""
        sub = object.__new__(Fleet)
        sub.env = fleet.env
        names = {h.name for h in ctx.hosts}
        sub.hosts = [h for h in fleet.hosts if h.name in names]
        return sub

    # -- flag units ---------------------------------------------------------------------------------
    def target(self, ctx: AppContext) -> flag_mod.AppTarget:
        def apply(host: Host, state: FlagState) -> gates.GateResult:
            return turn.reload(ctx, host, flag_steps(ctx, host.config, state, live_slot(ctx, host)))

        def env_file(host: Host) -> str:
            slot = live_slot(ctx, host)
            return slot.env_file if slot else ctx.layout.env_file

        return flag_mod.AppTarget(ctx.app, ctx.layout, apply, env_file)

    def units(self, fleet: Fleet, web_live: str | None, journaled: FlagState | None) -> list:
        """API units first, then web: the order the flag rolls in."""
        found = []
        for ctx in (self.api, self.web):
            if ctx is None:
                continue
            target = self.target(ctx)
            found += [flag_mod.HostUnit(target, h) for h in self.view(fleet, ctx).hosts]
        if self.publisher is not None and web_live:
            found.append(web_release.LocalUnit(self.publisher, web_live, journaled))
        return found

    def probe_targets(self, with_web: bool, fleet: Fleet | None = None) -> list[metrics_gate.ProbeTarget]:
        """What the metrics gate probes; with `fleet`, an API that runs side by side is probed on
        the slot that serves on each host (read there)."""
        api_base = None
        if fleet is not None and self.api is not None and isinstance(self.api.strategy, SideBySide):
            ports = {h.name: serving_slot(h, self.env, API).port for h in self.view(fleet, self.api).hosts}

            def api_base(host: HostConfig) -> str:
                return f"http://{releases.host_address(host)}:{ports[host.name]}"
        targets = metrics_gate.probe_targets(self.env, self.smoke, self.token, api_base)
        return [t for t in targets if with_web or t.app != WEB]


def live_slot(ctx: AppContext, host: Host) -> slots.Slot | None:
    """Side by side: the slot that serves the app on the host (read there); else None."""
    if not isinstance(ctx.strategy, SideBySide):
        return None
    return serving_slot(host, ctx.env, ctx.app)


def flag_steps(ctx: AppContext, host: HostConfig, state: FlagState, slot: slots.Slot | None = None) -> list:
    """One host unit's flag change as the engine applies it (and --dry-run prints it): the env
    file's flag lines rewritten (side by side: the serving slot's), then ctx.strategy's reload
    turn, gated on the new value."""
    change = [Exec(flag_mod.write_command(ctx.layout, state, slot.env_file if slot else None), "flag")]
    return ctx.strategy.reload(ctx, HostRun(host.name, host, slot=slot), change, state)

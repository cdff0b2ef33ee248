"""How a host moves to a release: the switch strategy, the engine's seam.

A strategy builds the steps of one host's turn and of its undo (pure; deploy.engine.turn applies
them). `InPlace` is the rolling restart: out of the load balancer, switch `current`, restart,
health gate, back in. A side-by-side strategy (boot the new release beside the old on the app's
alternate port, gate it, move the load balancer, stop the old) plugs in here: same methods, its
own step kinds registered with deploy.engine.turn.applies, set as AppContext.strategy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from deploy import releases, slots
from deploy.engine.steps import Drain, HealthGate, Ready, Step
from deploy.rollout import FlagState

if TYPE_CHECKING:
    from deploy.engine.context import AppContext
    from deploy.engine.runs import HostRun


class Strategy(Protocol):
    name: str

    def turn(self, ctx: "AppContext", r: "HostRun", switch: bool = True, with_env: bool = True) -> list[Step]:
        """Move r's host to r.target (switch=False: restart it on what it runs)."""

    def undo(self, ctx: "AppContext", r: "HostRun", with_env: bool = True) -> list[Step]:
        """Put the host back on r.before, given what the turn got done (r's flags)."""

    def reload(self, ctx: "AppContext", r: "HostRun", change: list[Step], flag: FlagState) -> list[Step]:
        """Apply `change` (e.g. the flag written into the env file), reload, gate on `flag`."""


class InPlace:
    """Rolling: each host leaves the load balancer, switches, restarts, passes its gate, comes back."""

    name = "in-place"

    def turn(self, ctx: "AppContext", r: "HostRun", switch: bool = True, with_env: bool = True) -> list[Step]:
        steps: list[Step] = [drain(ctx, r.name)] if ctx.lb else []
        if switch:
            steps += releases.switch_steps(ctx.layout, r.target, r.previous, with_env)
        steps += releases.restart_steps(ctx.manager, ctx.program)
        steps.append(HealthGate(ctx.health_url(r.config), r.target, ctx.spec.health))
        if ctx.lb:
            steps.append(Ready(ctx.backend, r.name))
        return steps

    def undo(self, ctx: "AppContext", r: "HostRun", with_env: bool = True) -> list[Step]:
        steps: list[Step] = []
        if r.in_service and ctx.lb:   # it serves traffic again: out of the LB before its restart
            steps.append(drain(ctx, r.name))
        if r.switched:
            steps += releases.revert_steps(ctx.layout, r.before, with_env, ctx.manager, ctx.program)
            if r.before.current:
                steps.append(HealthGate(ctx.health_url(r.config), r.before.current, ctx.spec.health))
        if r.drained and ctx.lb:
            steps.append(Ready(ctx.backend, r.name))
        return steps

    def reload(self, ctx: "AppContext", r: "HostRun", change: list[Step], flag: FlagState) -> list[Step]:
        from deploy.engine.workers import cluster_policy
        steps: list[Step] = [*change, *([drain(ctx, r.name)] if ctx.lb else [])]
        steps += releases.restart_steps(ctx.manager, ctx.program)
        steps.append(HealthGate(ctx.health_url(r.config), None, cluster_policy(ctx.program, ctx.spec.health), flag))
        if ctx.lb:
            steps.append(Ready(ctx.backend, r.name))
        return steps


class SideBySide(InPlace):
    """The app runs in one of two slots per host (deploy.slots): a release boots in the other one
    and the load balancer moves (deploy.side_by_side applies it); a restart or a flag reload acts
    on the slot that serves - its process, its env file, its port, its LB server. r.slot is the
    serving slot as read on the host (None: blue, nothing recorded yet)."""

    name = "side-by-side"

    def turn(self, ctx: "AppContext", r: "HostRun", switch: bool = True, with_env: bool = True) -> list[Step]:
        if switch:
            return super().turn(ctx, r, switch, with_env)
        live = Live.of(ctx, r)
        return [drain(ctx, live.server), *releases.restart_steps(ctx.manager, live.program),
                HealthGate(live.health_url, r.target, ctx.spec.health, program=live.program),
                Ready(ctx.backend, live.server)]

    def reload(self, ctx: "AppContext", r: "HostRun", change: list[Step], flag: FlagState) -> list[Step]:
        from deploy.engine.workers import cluster_policy
        live = Live.of(ctx, r)
        return [*change, drain(ctx, live.server), *releases.restart_steps(ctx.manager, live.program),
                HealthGate(live.health_url, None, cluster_policy(live.program, ctx.spec.health), flag,
                           program=live.program),
                Ready(ctx.backend, live.server)]


class Live:
    """What serves an app on a host: its slot's program, LB server, health URL and env file."""

    def __init__(self, ctx: "AppContext", host: str, config, slot: slots.Slot):
        self.slot = slot
        self.program = slots.serving_program(ctx.program, ctx.config, ctx.layout, slot)
        self.server = slots.server(host, slot)
        self.health_url = f"http://{releases.host_address(config)}:{slot.port}{ctx.config.health_path}"
        self.env_file = slot.env_file

    @classmethod
    def of(cls, ctx: "AppContext", r: "HostRun") -> "Live":
        return cls(ctx, r.name, r.config, r.slot or slots.slot(slots.BLUE, ctx.config, ctx.layout))


def for_app(side_by_side: bool) -> Strategy:
    return SideBySide() if side_by_side else InPlace()


def drain(ctx: "AppContext", server: str) -> Drain:
    return Drain(ctx.backend, server, ctx.spec.drain.deadline, ctx.spec.drain.interval)

"""How a host moves to a release: the switch strategy, the engine's seam.

A strategy builds the steps of one host's turn and of its undo (pure; deploy.engine.turn applies
them). `InPlace` is the rolling restart: out of the load balancer, switch `current`, restart,
health gate, back in. A side-by-side strategy (boot the new release beside the old on the app's
alternate port, gate it, move the load balancer, stop the old) plugs in here: same methods, its
own step kinds registered with deploy.engine.turn.applies, set as AppContext.strategy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from deploy.releases import steps as releases, slots
from deploy.releases.steps import Exec
from deploy.commands import release as rc
from deploy.commands.shell import OR, Command, chain
from deploy.engine.steps import Drain, HealthGate, LbState, Ready, Step
from deploy.process.base import Program
from deploy.flag.rollout import FlagState

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
    """The app runs in one of two slots per host (deploy.releases.slots): a release boots in the other one
    and the load balancer moves (deploy.engine.side_by_side applies it); a restart or a flag reload acts
    on the slot that serves - its process, its env file, its port, its LB server. r.slot is the
    serving slot as read on the host (None: blue, nothing recorded yet)."""

    name = "side-by-side"

    def turn(self, ctx: "AppContext", r: "HostRun", switch: bool = True, with_env: bool = True) -> list[Step]:
        if switch:   # what deploy.engine.side_by_side applies to the host: boot + gate beside, then move
            pair = Pair.of(ctx, r)
            return [*boot_steps(ctx, pair, r.target), *move_steps(ctx, r.name, pair, r.target, r.previous)]
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


class Pair:
    """A host's two slots in a side-by-side release: the one that serves, the one it boots in."""

    def __init__(self, ctx: "AppContext", address: str, serving: slots.Slot, release: str | None):
        self.serving, self.address = serving, address
        self.new = slots.slot(slots.other(serving.name), ctx.config, ctx.layout)
        self.program: Program = slots.program(ctx.program, ctx.config, ctx.layout, self.new, release or "<release>")
        self.old: Program = slots.serving_program(ctx.program, ctx.config, ctx.layout, serving)
        self.health_path = ctx.config.health_path

    @classmethod
    def of(cls, ctx: "AppContext", r: "HostRun") -> "Pair":
        return cls(ctx, releases.host_address(r.config), r.slot or slots.slot(slots.BLUE, ctx.config, ctx.layout),
                   r.target)

    def url(self, where: slots.Slot) -> str:
        return f"http://{self.address}:{where.port}{self.health_path}"

    def base_url(self) -> str:
        return f"http://{self.address}:{self.new.port}"


def boot_steps(ctx: "AppContext", pair: Pair, release: str | None) -> list[Step]:
    """The new slot starts beside the serving one and passes its gate (nothing moves yet)."""
    return [*releases.restart_steps(ctx.manager, pair.program),
            HealthGate(pair.url(pair.new), release, ctx.spec.health, program=pair.program)]


def move_steps(ctx: "AppContext", host: str, pair: Pair, release: str | None, previous: str | None) -> list[Step]:
    """The switch: the new slot's server ready, the old one's drain (no new request goes to it),
    then `current` / `previous` and the slot record."""
    return [LbState(ctx.backend, slots.server(host, pair.new), "ready"),
            LbState(ctx.backend, slots.server(host, pair.serving), "drain"),
            Exec(chain([rc.switch(ctx.layout, release, previous), slots.record(ctx.layout, pair.new.name)]), "switch")]


def stop_old_steps(ctx: "AppContext", host: str, pair: Pair) -> list[Step]:
    """After the last batch: the old slot's server waits for 0 sessions and goes to maint, then
    its process stops (SIGTERM: what is in flight finishes)."""
    return [drain(ctx, slots.server(host, pair.serving)), Exec(quiet(ctx.manager.stop_command(pair.old)), "stop-old")]


def quiet(command: Command) -> Command:
    """A stop that finds nothing running is fine."""
    return Command(command.parts + (rc.QUIET_ERR, OR, "true"))


def for_app(side_by_side: bool) -> Strategy:
    return SideBySide() if side_by_side else InPlace()


def drain(ctx: "AppContext", server: str) -> Drain:
    return Drain(ctx.backend, server, ctx.spec.drain.deadline, ctx.spec.drain.interval)

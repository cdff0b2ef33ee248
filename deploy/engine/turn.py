"""The one place a host's steps are applied: a turn (deploy.engine.strategy builds its steps).

Each step kind has its applier (`applies`); a strategy that brings new kinds registers theirs.
A turn marks on its HostRun what it got done before each change (drained, switched, ...), so
the undo built from those marks puts back exactly that, and journals each step (drain, switch,
restart, health, ready) unless the caller journals the turn as a whole.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from deploy.gates import health as gates
from deploy.releases import steps as releases
from deploy.commands import release as rc
from deploy.engine import starting, workers
from deploy.engine.context import AppContext, NoJournal
from deploy.engine.runs import HostRun
from deploy.engine.steps import Drain, HealthGate, LbState, Ready
from deploy.errors import StepFailed
from deploy.hosts.fleet import Host
from deploy.process.base import Program
from deploy.releases.steps import Exec, Upload

APPLIERS: dict[type, Callable[["Turn", Any], None]] = {}


def applies(kind: type) -> Callable:
    def register(fn: Callable[["Turn", Any], None]) -> Callable:
        APPLIERS[kind] = fn
        return fn
    return register


class GateFailed(StepFailed):
    def __init__(self, message: str, gate: gates.GateResult):
        super().__init__(message)
        self.gate = gate


class Turn:
    """One host's steps, applied in order on its connection; the first failure raises."""

    def __init__(self, ctx: AppContext, host: Host, r: HostRun, journal=None,
                 pid: Callable[[Host], int | None] | None = None, explain: bool = True):
        self.ctx, self.host, self.r = ctx, host, r
        self.journal = journal or NoJournal()
        self.pid = pid               # read the app's pid around the restart (invoke restart)
        self.explain = explain       # a failed start or gate carries the app's last error-log line
        self.starting: starting.Starting | None = None   # a restart still running beside its gate
        self.program = ctx.program   # the process the steps restart and gate (set by apply)

    def apply(self, steps: list) -> None:
        # the process these steps restart and gate: a slot's own program side by side (its own
        # error log), else the app's
        self.program = next((s.program for s in steps if isinstance(s, HealthGate) and s.program),
                            self.ctx.program)
        for step in steps:
            APPLIERS[type(step)](self, step)
        if self.starting is not None:    # a restart no gate followed: its own verdict
            with self.explained({}):
                self.confirm()
        self.r.in_service = True

    def confirm(self) -> None:
        pending, self.starting = self.starting, None
        starting.confirm(pending)

    def step(self, action: str):
        return self.journal.step(action, host=self.host.name, release=self.r.target)

    @contextmanager
    def explained(self, notes: dict) -> Iterator[None]:
        if not self.explain:
            yield
            return
        with explained(self.host, self.program, notes):
            yield


@applies(Drain)
def _drain(t: Turn, step: Drain) -> None:
    with t.step("drain") as notes:
        t.r.drained = True
        drained = t.ctx.lb.drain(step.backend, step.server, step.deadline, step.interval)
        notes.update(seconds=round(drained.seconds, 2), sessions_left=drained.sessions_left)


@applies(Ready)
def _ready(t: Turn, step: Ready) -> None:
    with t.step("ready"):
        t.ctx.lb.ready(step.backend, step.server)


@applies(LbState)
def _lb_state(t: Turn, step: LbState) -> None:
    with t.step("lb"):
        t.ctx.lb.set_state(step.backend, step.server, step.state)


@applies(Upload)
def _upload(t: Turn, step: Upload) -> None:
    releases.apply(t.host, [step])


@applies(Exec)
def _exec(t: Turn, step: Exec) -> None:
    r = t.r
    with t.step(step.what) as notes:
        if step.what == "switch":
            notes.update(before=r.before.current if r.before else None, previous=r.previous)
            r.switched = True   # before the command: a half-done switch is undone as well
        if step.what == "restart":
            if t.pid:
                notes["pid_before"] = r.pid_before
            with t.explained(notes):
                # at the spawn where the manager says so: the gate that follows polls meanwhile
                t.starting = starting.begin(t.host, t.ctx.manager, [step])
            r.restarted = True
            return
        releases.apply(t.host, [step])


@applies(HealthGate)
def _gate(t: Turn, step: HealthGate) -> None:
    r = t.r
    with t.step("health") as notes:
        pause = starting.pause(t.starting)
        with t.explained(notes):
            try:
                if step.flag is not None:
                    gate = gates.wait_healthy(step.url, None, step.policy, **pause, expected_flag={
                        "enabled": step.flag.enabled, "percentage": step.flag.percentage})
                else:
                    gate = workers.wait_ready(t.host, t.ctx.manager, step.program or t.ctx.program, step.url,
                                              step.release, step.policy, **pause)
                if gate.ok:
                    t.confirm()      # and the manager called it up (supervisord: RUNNING after startsecs)
            finally:
                t.starting = None
        r.gate = gate
        notes.update(gate.as_dict())
        if t.pid:
            r.pid_after = t.pid(t.host)
            notes["pid_after"] = r.pid_after
        if not gate.ok:
            with t.explained(notes):
                raise GateFailed(f"{t.host.name}: health gate: {gate.reason}", gate)


@contextmanager
def explained(host: Host, program: Program, notes: dict) -> Iterator[None]:
    """A failed start or gate carries the program's last error-log line: the why, in the journal."""
    try:
        yield
    except StepFailed as exc:
        log = program.log_file("err")
        try:
            lines = host.run(rc.tail(log), check=False, timeout=15).stdout.strip().splitlines()
        except Exception:
            lines = []
        if not lines:
            raise
        notes["log_tail"] = lines
        raise StepFailed(f"{exc} (last line of {log}: {lines[-1].strip()[:300]})") from None


def undo(ctx: AppContext, host: Host, r: HostRun, with_env: bool) -> None:
    """Put one host back on what it ran before this run (links, env file, process, LB)."""
    back = HostRun(r.name, r.config, before=r.before, target=r.before.current if r.before else None)
    try:
        Turn(ctx, host, back, explain=False).apply(ctx.strategy.undo(ctx, r, with_env))
    except GateFailed as exc:
        raise StepFailed(f"{host.name}: back on {r.before.current} but {exc.gate.reason}") from None
    if r.switched:
        r.note = "switched back"


def reload(ctx: AppContext, host: Host, steps: list) -> gates.GateResult:
    """A reload turn (ctx.strategy.reload: a value changed, the app reloaded, gated on what it
    serves), journaled as a whole by the caller. A failed gate is returned, not raised: the host
    then stays out of the load balancer."""
    r = HostRun(host.name, host.config)
    try:
        Turn(ctx, host, r, explain=False).apply(steps)
    except GateFailed as exc:
        return exc.gate
    return r.gate

"""The release engine without hosts: the steps of a turn, an undo and a reload (InPlace), the one
place they are applied (Turn, against a recording host and load balancer), what an undo puts back
after a failed gate, and the one result type."""

import dataclasses
from types import SimpleNamespace

import pytest

from deploy.commands.release import HostReleases
from deploy.commands.shell import cmd
from deploy.engine import plan, turn as turn_mod, workers
from deploy.engine.context import AppContext
from deploy.engine.results import Outcome
from deploy.engine.runs import HostRun
from deploy.engine.steps import Drain, HealthGate, Ready, lines
from deploy.engine.turn import Turn, undo
from deploy.errors import StepFailed
from deploy.gates.health import GateResult
from deploy.releases.steps import Exec
from deploy.flag.rollout import FlagState
from tests.unit.test_release_steps import R1, R2, environment


class RecordingLB:
    endpoint = "127.0.0.1:9999"

    def __init__(self):
        self.calls = []

    def drain(self, backend, server, deadline, interval):
        self.calls.append(("drain", server))
        return SimpleNamespace(seconds=0.0, sessions_left=0)

    def ready(self, backend, server):
        self.calls.append(("ready", server))


class RecordingHost:
    def __init__(self, config):
        self.config, self.name, self.commands = config, config.name, []

    def run(self, command, timeout=None, check=True):
        self.commands.append(str(command))
        return SimpleNamespace(stdout="", stderr="", exit_code=0, ok=True)


def context(tmp_path, lb=True) -> AppContext:
    ctx = AppContext.load(environment(tmp_path), "api")
    ctx.lb = RecordingLB() if lb else None
    return ctx


def moving(ctx, before=R1, target=R2) -> HostRun:
    config = ctx.hosts[0]
    held = (before, target) if before else (target,)
    return HostRun(config.name, config, before=HostReleases(held, before, None), target=target, previous=before)


def kinds(steps):
    return [type(s).__name__ + (f":{s.what}" if isinstance(s, Exec) else "") for s in steps]


def gates_answer(monkeypatch, *answers):
    """workers.wait_ready answers these, in order; records the releases it was asked for."""
    asked, left = [], list(answers)

    def fake(host, manager, program, url, release, policy):
        asked.append(release)
        return left.pop(0)
    monkeypatch.setattr(workers, "wait_ready", fake)
    return asked


OK = GateResult(True, "http://10.0.0.5:3000/health", "healthy", 3, 1.0, R2)
BAD = GateResult(False, "http://10.0.0.5:3000/health", "status 500", 9, 5.0)


def test_a_turn_behind_a_load_balancer_is_drain_switch_restart_gate_ready(tmp_path):
    ctx = context(tmp_path)
    r = moving(ctx)
    steps = ctx.strategy.turn(ctx, r)
    assert kinds(steps) == ["Drain", "Exec:switch", "Exec:restart", "HealthGate", "Ready"]
    shown = lines(steps)
    assert shown[:3] == ["lb      set server marketplace-api/api-1 state drain",
                         f"lb      wait for 0 sessions (at most {ctx.spec.drain.deadline:g}s)",
                         "lb      set server marketplace-api/api-1 state maint"]
    assert shown[-2] == (f"gate    GET http://10.0.0.5:3000/health until 200 with version {R2}, "
                         f"{ctx.spec.health.passes} in a row 100ms apart within {ctx.spec.health.deadline:g}s")
    assert shown[-1] == "lb      set server marketplace-api/api-1 state ready"
    assert kinds(ctx.strategy.turn(ctx, r, switch=False)) == ["Drain", "Exec:restart", "HealthGate", "Ready"]
    no_lb = context(tmp_path, lb=False)
    assert kinds(no_lb.strategy.turn(no_lb, r)) == ["Exec:switch", "Exec:restart", "HealthGate"]


def test_an_undo_puts_back_only_what_the_turn_got_done(tmp_path):
    ctx = context(tmp_path)
    r = moving(ctx)
    assert ctx.strategy.undo(ctx, r) == []                     # nothing done: nothing to undo
    r.drained = True
    assert kinds(ctx.strategy.undo(ctx, r)) == ["Ready"]       # drained only: back into the LB
    r.switched = r.in_service = True
    steps = ctx.strategy.undo(ctx, r)
    assert kinds(steps) == ["Drain", "Exec:switch back", "Exec:restart", "HealthGate", "Ready"]
    assert [s.release for s in steps if isinstance(s, HealthGate)] == [R1]
    fresh = moving(ctx, before=None)
    fresh.switched = True                                      # it ran nothing before: stopped, no gate
    assert kinds(ctx.strategy.undo(ctx, fresh)) == ["Exec:remove current", "Exec:stop"]


def test_a_flag_reload_writes_then_drains_restarts_gates_on_the_flag_and_readies(tmp_path):
    ctx = context(tmp_path)
    r = moving(ctx)
    flag = FlagState(True, 25)
    steps = ctx.strategy.reload(ctx, r, [Exec(cmd("true"), "flag")], flag)
    assert kinds(steps) == ["Exec:flag", "Drain", "Exec:restart", "HealthGate", "Ready"]
    assert lines(steps)[-2] == f"gate    GET http://10.0.0.5:3000/health until it serves flag {flag.describe()}"


def test_a_turn_applies_its_steps_in_order_and_stops_at_a_failed_gate(tmp_path, monkeypatch):
    ctx = context(tmp_path)
    host = RecordingHost(ctx.hosts[0])
    r = moving(ctx)
    asked = gates_answer(monkeypatch, BAD, GateResult(True, OK.url, "healthy", 3, 1.0, R1))
    with pytest.raises(StepFailed, match="api-1: health gate: status 500"):
        Turn(ctx, host, r).apply(ctx.strategy.turn(ctx, r))
    assert ctx.lb.calls == [("drain", "api-1")]                # never back into the LB
    assert r.drained and r.switched and r.restarted and not r.in_service and r.gate == BAD
    assert any("ln -s" in c or "mv -T" in c for c in host.commands)
    assert any("supervisor_rpc" in c and "restart marketplace-api" in c for c in host.commands)

    host.commands.clear()
    undo(ctx, host, r, with_env=True)
    assert asked == [R2, R1]                                   # the undo gates on the release it restores
    assert ctx.lb.calls == [("drain", "api-1"), ("ready", "api-1")]
    assert any("restart marketplace-api" in c for c in host.commands) and r.note == "switched back"


def test_an_undo_that_fails_its_gate_says_so(tmp_path, monkeypatch):
    ctx = context(tmp_path, lb=False)
    host = RecordingHost(ctx.hosts[0])
    r = moving(ctx)
    r.switched = True
    gates_answer(monkeypatch, BAD)
    with pytest.raises(StepFailed, match=f"api-1: back on {R1} but status 500"):
        undo(ctx, host, r, with_env=True)


class TailingHost(RecordingHost):
    """Its error logs' last line is the log's own name: which log was read shows in the error."""

    def run(self, command, timeout=None, check=True):
        text = str(command)
        self.commands.append(text)
        logs = [word for word in text.split() if word.endswith(".err.log")]
        return SimpleNamespace(stdout=f"died writing {logs[-1]}\n" if logs else "", stderr="", exit_code=0, ok=True)


def test_a_failed_gate_quotes_the_error_log_of_the_process_it_gated(tmp_path, monkeypatch):
    ctx = context(tmp_path, lb=False)
    r = moving(ctx)
    gates_answer(monkeypatch, BAD, BAD)
    host = TailingHost(ctx.hosts[0])
    with pytest.raises(StepFailed, match=r"last line of \S*/marketplace-api\.err\.log"):
        Turn(ctx, host, r).apply([HealthGate(OK.url, R2, ctx.spec.health)])
    slot = dataclasses.replace(ctx.program, process="marketplace-api-green")   # a side-by-side slot
    with pytest.raises(StepFailed, match=r"last line of \S*/marketplace-api-green\.err\.log: "
                                         r"died writing \S*/marketplace-api-green\.err\.log"):
        Turn(ctx, host, r).apply([HealthGate(OK.url, R2, ctx.spec.health, program=slot)])


def test_dry_run_prints_the_steps_a_turn_applies(tmp_path, monkeypatch):
    ctx = context(tmp_path)
    r = moving(ctx)
    applied = []
    for kind in list(turn_mod.APPLIERS):
        monkeypatch.setitem(turn_mod.APPLIERS, kind, lambda t, step: applied.append(step))
    Turn(ctx, RecordingHost(ctx.hosts[0]), r).apply(ctx.strategy.turn(ctx, r, with_env=False))
    assert plan.host_steps(ctx, r) == lines(applied)
    r.target = R1
    assert plan.host_steps(ctx, r) == [f"skip    already on {R1}"]


def test_a_new_step_kind_is_applied_through_its_registered_applier(tmp_path, monkeypatch):
    ctx = context(tmp_path)
    seen = []

    class Boot(SimpleNamespace):
        pass
    monkeypatch.setitem(turn_mod.APPLIERS, Boot, lambda t, step: seen.append((t.host.name, step.port)))
    Turn(ctx, RecordingHost(ctx.hosts[0]), moving(ctx)).apply([Boot(port=3001)])
    assert seen == [("api-1", 3001)]


def test_one_outcome_type_shapes_every_json_summary():
    done = Outcome(True, {"release": R2, "hosts": []})
    assert done.release == R2 and done.as_dict() == {"release": R2, "hosts": []}
    done.hosts = [{"host": "a"}]                                # body fields read and write as attributes
    assert done.as_dict()["hosts"] == [{"host": "a"}]
    dry = Outcome(True, {"app": "api", "hosts": []}, dry_run=True)
    assert dry.as_dict() == {"app": "api", "hosts": [], "dry_run": True}
    restart = Outcome(False, {"app": "api"}, error="boom", exit_code=1)
    assert restart.as_dict() == {"app": "api", "error": "boom", "_exit_code": 1}   # nothing to undo
    failed = Outcome.failure(StepFailed("gate failed"), {"release": R2}, SimpleNamespace(undo_report=[{"ok": True}]))
    assert failed.as_dict() == {"release": R2, "error": "gate failed", "undo": [{"ok": True}], "_exit_code": 1}
    with pytest.raises(AttributeError):
        done.percentage

"""The side-by-side strategy without hosts: a restart and a flag reload act on the slot that
serves (its process, env file, port and LB server), not on the app's base program; the context
picks it where the app switches side by side."""

from deploy.flag import units as flag
from deploy.releases import slots
from deploy.commands.shell import cmd
from deploy.engine import workers
from deploy.engine.context import AppContext
from deploy.engine.runs import HostRun
from deploy.engine.steps import lines
from deploy.engine.strategy import InPlace, SideBySide
from deploy.engine.turn import Turn
from deploy.gates.health import GateResult
from deploy.releases.steps import Exec
from deploy.flag.rollout import FlagState
from tests.unit.test_engine import RecordingHost, RecordingLB
from tests.unit.test_release_steps import R2, environment

GREEN_ENV = "/srv/marketplace/api/shared/api-green.env"


def side_by_side(tmp_path) -> AppContext:
    env = environment(tmp_path, load_balancer="127.0.0.1:9999", switch="side_by_side", apps={"api": {
        "process": "marketplace-api", "role": "api", "source": "app", "port": 3000, "alt_port": 4000,
        "start": "python3 -m marketplace.api --env-file {env_file}"}})
    ctx = AppContext.load(env, "api")
    ctx.lb = RecordingLB()
    return ctx


def on(ctx, name: str) -> HostRun:
    config = ctx.hosts[0]
    return HostRun(config.name, config, target=R2, slot=slots.slot(name, ctx.config, ctx.layout))


def test_the_context_picks_side_by_side_where_the_app_switches_so(tmp_path):
    assert isinstance(side_by_side(tmp_path).strategy, SideBySide)
    assert type(AppContext.load(environment(tmp_path), "api").strategy) is InPlace


def test_a_restart_acts_on_the_serving_green_slot(tmp_path):
    ctx = side_by_side(tmp_path)
    shown = lines(ctx.strategy.turn(ctx, on(ctx, "green"), switch=False))
    assert shown[0] == "lb      set server marketplace-api/api-1-green state drain"
    assert any("restart marketplace-api-green" in line for line in shown), shown
    assert f"gate    GET http://10.0.0.5:4000/health until 200 with version {R2}" in "\n".join(shown)
    assert shown[-1] == "lb      set server marketplace-api/api-1-green state ready"


def test_a_restart_on_blue_is_the_app_own_process(tmp_path):
    ctx = side_by_side(tmp_path)
    shown = "\n".join(lines(ctx.strategy.turn(ctx, on(ctx, "blue"), switch=False)))
    assert "restart marketplace-api\n" in shown + "\n" or "restart marketplace-api " in shown
    assert "marketplace-api-green" not in shown and "api-1-green" not in shown and ":3000/health" in shown


def test_a_flag_reload_writes_and_reloads_the_green_slot(tmp_path):
    ctx = side_by_side(tmp_path)
    state = FlagState(True, 25)
    change = [Exec(flag.write_command(ctx.layout, state, GREEN_ENV), "flag")]
    steps = ctx.strategy.reload(ctx, on(ctx, "green"), change, state)
    shown = lines(steps)
    assert GREEN_ENV in shown[0] and "/api.env" not in shown[0]
    assert shown[1] == "lb      set server marketplace-api/api-1-green state drain"
    assert any("restart marketplace-api-green" in line for line in shown), shown
    assert shown[-2] == f"gate    GET http://10.0.0.5:4000/health until it serves flag {state.describe()}"
    assert shown[-1] == "lb      set server marketplace-api/api-1-green state ready"


def test_the_gate_of_a_slot_waits_on_the_slot_program(tmp_path, monkeypatch):
    ctx = side_by_side(tmp_path)
    asked = []

    def fake(host, manager, program, url, release, policy):
        asked.append((program.process, url))
        return GateResult(True, url, "healthy", 3, 1.0, release)
    monkeypatch.setattr(workers, "wait_ready", fake)
    r = on(ctx, "green")
    host = RecordingHost(ctx.hosts[0])
    Turn(ctx, host, r).apply(ctx.strategy.turn(ctx, r, switch=False))
    assert asked == [("marketplace-api-green", "http://10.0.0.5:4000/health")]
    assert ctx.lb.calls == [("drain", "api-1-green"), ("ready", "api-1-green")]
    assert any("restart marketplace-api-green" in c for c in host.commands)


def test_the_flag_is_read_and_written_in_the_env_file_given(tmp_path):
    ctx = side_by_side(tmp_path)
    assert str(flag.read_command(ctx.layout, GREEN_ENV)).endswith(GREEN_ENV)
    written = str(flag.write_command(ctx.layout, FlagState(True, 5), GREEN_ENV))
    assert "/srv/marketplace/api/shared/.api-green.env.flag" in written and "/api.env" not in written
    default = str(flag.write_command(ctx.layout, FlagState(True, 5)))   # the app's own: as before
    assert default.count("/srv/marketplace/api/shared/api.env ") == 2 and default.endswith("shared/api.env")
    assert "/srv/marketplace/api/shared/.api.env.flag" in default


def test_a_release_turn_boots_beside_then_moves_the_lb(tmp_path):
    """What deploy.engine.side_by_side applies to a host whose green slot serves (and --dry-run prints)."""
    ctx = side_by_side(tmp_path)
    r = on(ctx, "green")
    r.previous = "20240101120000-abc1234"
    steps = ctx.strategy.turn(ctx, r, switch=True)
    shown = lines(steps)
    assert [type(s).__name__ for s in steps] == ["Exec", "HealthGate", "LbState", "LbState", "Exec"]
    assert "restart marketplace-api" in shown[0] and "green" not in shown[0]     # the blue slot boots
    assert f"/srv/marketplace/api/releases/{R2}" in str(steps[0].command) or steps[1].program.directory.endswith(R2)
    assert shown[1].startswith(f"gate    GET http://10.0.0.5:3000/health until 200 with version {R2}")
    assert shown[2:4] == ["lb      set server marketplace-api/api-1 state ready",
                          "lb      set server marketplace-api/api-1-green state drain"]
    assert R2 in shown[4] and "/srv/marketplace/api/slot" in shown[4] and "blue" in shown[4]


def test_after_the_switch_the_old_slot_drains_and_stops(tmp_path):
    from deploy.engine.strategy import Pair, stop_old_steps
    ctx = side_by_side(tmp_path)
    shown = lines(stop_old_steps(ctx, "api-1", Pair.of(ctx, on(ctx, "green"))))
    assert shown[0] == "lb      set server marketplace-api/api-1-green state drain"
    assert shown[2] == "lb      set server marketplace-api/api-1-green state maint"
    assert "stop marketplace-api-green" in shown[3] and "|| true" in shown[3]

"""The side-by-side switch's pure parts: slots, their programs, records and LB servers, and the
config rules."""

import textwrap

import pytest

from deploy.config import environment as config
from deploy.releases import steps as releases, slots
from deploy.engine import side_by_side
from deploy.commands import haproxy as hx
from deploy.commands import release as rc
from deploy.commands.release import AppLayout
from deploy.errors import ConfigError

BASE = """
hosts:
  - {name: h1, transport: local}
database: {dialect: sqlite, path: db.sqlite}
apps:
  api:
    process: marketplace-api
    role: api
    source: src
    start: python -m app --env-file {env_file}
    port: 3000
"""


def load(tmp_path, extra_app: str = "", extra_env: str = ""):
    (tmp_path / "environments").mkdir(exist_ok=True)
    (tmp_path / "src").mkdir(exist_ok=True)
    body = textwrap.dedent(BASE) + textwrap.indent(textwrap.dedent(extra_app), "    ") + textwrap.dedent(extra_env)
    (tmp_path / "environments" / "t.yaml").write_text(body)
    return config.load("t", root=tmp_path)


def test_chosen_by_setting_else_by_lb_and_alt_port(tmp_path):
    env = load(tmp_path)
    assert not slots.chosen(env, env.apps["api"])                      # no LB, no alt_port: in place
    env = load(tmp_path, "alt_port: 3001\n")
    assert not slots.chosen(env, env.apps["api"])                      # an alt_port alone: in place
    env = load(tmp_path, "alt_port: 3001\n", "load_balancer: 127.0.0.1:9999\n")
    assert slots.chosen(env, env.apps["api"])                          # the default with an LB
    env = load(tmp_path, "alt_port: 3001\n", "load_balancer: 127.0.0.1:9999\nswitch: in_place\n")
    assert not slots.chosen(env, env.apps["api"])                      # in_place kept on request


def test_bad_settings_are_refused_at_load(tmp_path):
    with pytest.raises(ConfigError, match="switch"):
        load(tmp_path, "", "switch: sideways\n")
    with pytest.raises(ConfigError, match="set load_balancer"):
        load(tmp_path, "alt_port: 3001\n", "switch: side_by_side\n")
    with pytest.raises(ConfigError, match="alt_port"):
        load(tmp_path, "alt_port: 3000\n")
    with pytest.raises(ConfigError, match="alt_port"):
        load(tmp_path, "alt_port: 70000\n")
    env = load(tmp_path, "", "load_balancer: 127.0.0.1:9999\nswitch: side_by_side\n")
    with pytest.raises(ConfigError, match=r"apps.api.alt_port"):
        slots.check(env, "api", env.apps["api"])
    web = textwrap.dedent(BASE) + ("  web:\n    process: marketplace-web\n    role: api\n    source: src\n"
                                   "    start: python -m web --env-file {env_file}\n    port: 3100\n    alt_port: 3101\n")
    (tmp_path / "environments" / "t.yaml").write_text(web + "load_balancer: 127.0.0.1:9999\n")
    with pytest.raises(ConfigError, match=r"apps.web.alt_port: only the API releases side by side"):
        config.load("t", root=tmp_path)
    (tmp_path / "environments" / "t.yaml").write_text(web.replace("    alt_port: 3101\n", ""))
    assert "web" in config.load("t", root=tmp_path).apps


def test_slots_and_their_programs(tmp_path):
    env = load(tmp_path, "alt_port: 3001\n")
    layout = releases.layout_for(env, "api")
    cfg = env.apps["api"]
    blue, green = slots.slot("blue", cfg, layout), slots.slot("green", cfg, layout)
    assert blue == slots.Slot("blue", "marketplace-api", 3000, "/srv/marketplace/api/shared/api.env")
    assert green == slots.Slot("green", "marketplace-api-green", 3001, "/srv/marketplace/api/shared/api-green.env")
    assert slots.other("blue") == "green" and slots.other("green") == "blue"
    base = releases.program_for(env, "api")
    prog = slots.program(base, cfg, layout, green, "20260101T000000Z")
    assert prog.process == "marketplace-api-green"
    assert prog.directory == "/srv/marketplace/api/releases/20260101T000000Z"     # its own release, not current
    assert prog.command == "python -m app --env-file /srv/marketplace/api/shared/api-green.env"
    assert prog.log_file("err") == "/srv/marketplace/api/shared/logs/marketplace-api-green.err.log"


def test_slot_record_commands_and_parser():
    layout = AppLayout("/srv/m", "api")
    assert str(slots.read(layout)) == "cat /srv/m/api/slot 2>/dev/null || true"
    assert str(slots.record(layout, "green")) == (
        "printf '%s\\n' green > /srv/m/api/.slot.tmp && mv -f /srv/m/api/.slot.tmp /srv/m/api/slot")
    assert str(slots.install_env(layout, "r1", slots.Slot("green", "p", 1, "/srv/m/api/shared/api-green.env"))) \
        == "mv -f /srv/m/api/shared/.api.env.r1 /srv/m/api/shared/api-green.env"
    assert slots.parse("") == "blue" and slots.parse("green\n") == "green" and slots.parse("blue") == "blue"
    with pytest.raises(ValueError):
        slots.parse("purple")


def test_releases_and_slot_in_one_read():
    layout = AppLayout("/srv/m", "api")
    command = str(slots.inspect_with_slot(layout))
    assert command.startswith(str(rc.inspect(layout)) + " ; echo @@deploy-slot ; ")
    assert command.endswith("cat /srv/m/api/slot 2>/dev/null || true")
    r1, r2 = "20260101000000", "20260102000000"
    out = (f"{r1}/\n{r2}/\n#current\n/srv/m/api/releases/{r2}\n#previous\n/srv/m/api/releases/{r1}\n"
           "@@deploy-slot\ngreen\n")
    before, name = slots.parse_inspect_with_slot(out)
    assert (before.releases, before.current, before.previous, name) == ((r1, r2), r2, r1, "green")
    before, name = slots.parse_inspect_with_slot("@@deploy-slot\n")      # nothing deployed, no record
    assert (before.releases, before.current, name) == ((), None, "blue")
    with pytest.raises(ValueError):
        slots.parse_inspect_with_slot(f"{r1}/\n@@deploy-slot\npurple\n")


def test_lb_servers_of_the_slots(tmp_path):
    env = load(tmp_path, "alt_port: 3001\n")
    layout = releases.layout_for(env, "api")
    blue, green = (slots.slot(n, env.apps["api"], layout) for n in ("blue", "green"))
    assert slots.server("api-1", blue) == "api-1" and slots.server("api-1", green) == "api-1-green"

    def state(name, port, admin):
        return hx.ServerState("marketplace-api", name, "127.0.0.2", "running", admin, port)

    ready, maint, drain = 0, hx.ADMIN_FORCED_MAINT, hx.ADMIN_FORCED_DRAIN
    good = {"api-1": state("api-1", 3000, ready), "api-1-green": state("api-1-green", 3001, maint)}
    assert side_by_side.lb_problem(good, "api-1", blue, green) is None
    assert side_by_side.lb_problem(good, "api-1", green, blue) == \
        "server api-1-green is in maint, but the green slot serves"
    assert "no server api-1-green" in side_by_side.lb_problem({"api-1": good["api-1"]}, "api-1", blue, green)
    wrong_port = {**good, "api-1-green": state("api-1-green", 4000, maint)}
    assert side_by_side.lb_problem(wrong_port, "api-1", blue, green) == \
        "server api-1-green points at port 4000, its green slot listens on 3001"
    both_up = {**good, "api-1-green": state("api-1-green", 3001, drain)}
    assert side_by_side.lb_problem(both_up, "api-1", blue, green) == \
        "server api-1-green is not in maint, but the green slot does not serve"


def test_a_disabled_server_set_ready_serves():
    disabled, readied = (hx.ServerState("b", "s1-green", "127.0.0.1", op, admin, 19914)
                         for op, admin in (("stopped", 5), ("running", 4)))   # HAProxy 2.6's answers
    assert disabled.maint and not disabled.ready
    assert readied.ready and not readied.maint


def test_servers_state_has_the_port():
    text = ("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
            "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
            "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
            "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"
            "3 marketplace-api 1 api-1 127.0.0.11 2 0 1 1 2 1 0 2 0 0 0 0 - 34463 - 0 0 - - 0\n\n")
    assert hx.parse_servers_state(text)["api-1"].port == 34463

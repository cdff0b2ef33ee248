"""HAProxy runtime API builders and parsers (fixtures are real HAProxy 2.6 answers), and the
drain procedure against a scripted admin socket."""

import pytest

from deploy.commands import haproxy as hx
from deploy.errors import ConfigError, StepFailed
from deploy.lb.admin import HAProxy

SERVERS_STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 marketplace-api 1 host1 127.0.0.10 2 8 1 1 0 1 0 2 0 0 0 0 - 3300 - 0 0 - - 0
3 marketplace-api 2 host2 127.0.0.11 2 0 1 1 1 1 0 2 0 0 0 0 - 3300 - 0 0 - - 0
3 marketplace-api 3 host3 127.0.0.12 0 1 1 1 1 1 0 2 0 0 0 0 - 3300 - 0 0 - - 0

"""
SERVERS_CONN = """# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[2]
marketplace-api/host1 3/1 127.0.0.10 3300 - 5000 4 9 0 0 0 -1 0 0 0
marketplace-api/host2 3/2 127.0.0.11 3300 - 5000 0 0 0 0 0 -1 0 0 0

"""
STAT_HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
               "wredis,status,weight,act,bck\n")


def stat(rows):
    return STAT_HEADER + "".join(f"{px},{sv},{q},0,{s},0,,0,0,0,0,0,0,0,0,0,0,{st},1,1,0\n"
                                 for px, sv, q, s, st in rows)


def test_builders_exact():
    assert hx.set_state("marketplace-api", "host1", "drain") == "set server marketplace-api/host1 state drain"
    assert hx.set_state("marketplace-api", "api-1", "maint") == "set server marketplace-api/api-1 state maint"
    assert hx.set_state("b", "s", "ready") == "set server b/s state ready"
    assert hx.show_servers_state("marketplace-api") == "show servers state marketplace-api"
    assert hx.show_servers_conn("marketplace-api") == "show servers conn marketplace-api"
    assert hx.show_stat() == "show stat"


@pytest.mark.parametrize("server", ["host 1", "h;shutdown", "a/b", ""])
def test_names_that_would_break_the_runtime_api_are_refused(server):
    with pytest.raises(ConfigError, match="server name"):
        hx.set_state("marketplace-api", server, "drain")


def test_unknown_state_is_refused():
    with pytest.raises(ValueError):
        hx.set_state("b", "s", "down")


def test_parse_servers_state():
    states = hx.parse_servers_state(SERVERS_STATE)
    assert set(states) == {"host1", "host2", "host3"}
    h1, h2, h3 = states["host1"], states["host2"], states["host3"]
    assert h1.drain and not h1.maint and not h1.ready and h1.operational == "running"
    assert h1.address == "127.0.0.10" and h1.backend == "marketplace-api"
    assert h2.ready and h2.admin == 0
    assert h3.maint and h3.operational == "stopped"
    assert hx.parse_servers_state("") == {}
    assert hx.parse_servers_state("No such backend.\n") == {}


def test_parse_servers_conn():
    assert hx.parse_servers_conn(SERVERS_CONN) == {"host1": 4, "host2": 0}


def test_parse_stat_skips_frontends_and_totals():
    text = stat([("api", "FRONTEND", "", 3, "OPEN"), ("marketplace-api", "host1", 1, 2, "DRAIN"),
                 ("marketplace-api", "host2", 0, 0, "no check"), ("marketplace-api", "BACKEND", 1, 2, "UP")])
    stats = hx.parse_stat(text)
    assert set(stats) == {("marketplace-api", "host1"), ("marketplace-api", "host2")}
    assert stats[("marketplace-api", "host1")].current_sessions == 2
    assert stats[("marketplace-api", "host1")].queued == 1
    assert stats[("marketplace-api", "host1")].status == "DRAIN"
    assert hx.parse_stat("Unknown command.\n") == {}


def test_error_of():
    assert hx.error_of("\n") is None
    assert hx.error_of("No such server.\n\n") == "No such server."


class Scripted(HAProxy):
    """An admin socket that answers from a script and remembers what it was sent."""

    def __init__(self, sessions):
        super().__init__("127.0.0.1:1")
        self.sessions_left = list(sessions)
        self.sent = []

    def send(self, command):
        self.sent.append(command)
        if command.startswith("show servers state"):
            return SERVERS_STATE
        if command == "show stat":
            now = self.sessions_left.pop(0) if len(self.sessions_left) > 1 else self.sessions_left[0]
            return stat([("marketplace-api", "host1", 0, now, "DRAIN")])
        return "No such server.\n" if "nope" in command else "\n"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_drain_waits_for_zero_sessions_then_maint():
    lb, clock = Scripted([3, 2, 0]), Clock()
    result = lb.drain("marketplace-api", "host1", deadline=30, interval=0.5, clock=clock, sleep=clock.sleep)
    assert lb.sent == ["set server marketplace-api/host1 state drain", "show stat", "show stat", "show stat",
                       "set server marketplace-api/host1 state maint"]
    assert result.sessions_left == 0 and result.seconds == 1.0


def test_drain_goes_to_maint_at_the_deadline():
    lb, clock = Scripted([5]), Clock()
    result = lb.drain("marketplace-api", "host1", deadline=2, interval=0.5, clock=clock, sleep=clock.sleep)
    assert lb.sent[-1] == "set server marketplace-api/host1 state maint"
    assert result.sessions_left == 5 and result.seconds == pytest.approx(2.0)


def test_a_refused_runtime_command_fails_the_step():
    with pytest.raises(StepFailed, match="No such server"):
        Scripted([0]).set_state("marketplace-api", "nope", "ready")



def test_the_engine_checks_the_lb_knows_every_host_before_anything_changes():
    from types import SimpleNamespace

    from deploy.engine.context import AppContext as Context
    hosts = [SimpleNamespace(name="host1"), SimpleNamespace(name="host9")]
    ctx = Context(env=None, app="api", config=SimpleNamespace(process="marketplace-api"), layout=None,
                  manager=None, program=None, spec=None, lb=Scripted([0]), hosts=hosts)
    with pytest.raises(ConfigError, match="backend 'marketplace-api' has no server host9"):
        ctx.check_lb()
    ctx.hosts = hosts[:1]
    ctx.check_lb()

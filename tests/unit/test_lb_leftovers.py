"""Which hosts may still be out of traffic after a failed run: asked from the LB, or inferred."""

from __future__ import annotations

from types import SimpleNamespace

from deploy.lb import leftovers as ll
from deploy.errors import StepFailed

STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight
3 api 1 h1 127.0.0.1 2 0 1 1
3 api 2 h2 127.0.0.2 2 1 1 1
3 api 3 h3 127.0.0.3 2 8 1 1
"""


class FakeLB:
    def __init__(self, answer=None):
        self.answer = answer

    def send(self, command):
        if self.answer is None:
            raise StepFailed("load balancer 127.0.0.1:9: `show servers state api` failed: Connection refused")
        assert command == "show servers state api"
        return self.answer


def runs(**flags):
    return {name: SimpleNamespace(name=name, drained=d, in_service=s) for name, (d, s) in flags.items()}


def test_the_lb_that_answers_says_which_drained_hosts_are_in_maint_or_drain():
    hosts, why = ll.maybe_out_of_traffic(FakeLB(STATE), "api", ["h1", "h2", "h3"], [])
    assert (hosts, why) == (["h2", "h3"], None)     # h2 maint (1), h3 drain (8), h1 ready


def test_a_vanished_lb_leaves_the_hosts_never_seen_ready_again():
    ctx = SimpleNamespace(lb=FakeLB(None), backend="api")
    error = ll.with_note("rollout failed on h2", ctx, runs(h1=(True, True), h2=(True, False), h3=(False, False)))
    assert error == ("rollout failed on h2; hosts that may still be in maint at the load balancer: h2 "
                     "(the load balancer does not answer, so this run cannot tell) - set them ready once "
                     "it is back (`set server api/<host> state ready`) after checking them")


def test_nothing_to_say_without_an_lb_or_when_all_are_back():
    assert ll.with_note("x", SimpleNamespace(lb=None, backend="api"), runs(h1=(True, False))) == "x"
    ctx = SimpleNamespace(lb=FakeLB(STATE.replace(" 2 1 1 1", " 2 0 1 1").replace(" 2 8 1 1", " 2 0 1 1")),
                          backend="api")
    assert ll.with_note("x", ctx, runs(h2=(True, False), h3=(True, True))) == "x"

"""The demo's own claims, judged from what it observed (pure): the traffic got the HTTP answers it
expected, and monitor.alerts fired the abuse rule - and only it - on the demo's burst."""

from collections import Counter

import pytest

from deploy.demo.claims import alert_problems, reads_problems, traffic_problems
from deploy.demo.traffic import TrafficReport


def report(can_rate=None, refusals=None, create=None, asked=None, created=None) -> TrafficReport:
    can_rate, create = Counter(can_rate or {}), Counter(create or {})
    return TrafficReport(requests=sum(can_rate.values()) + sum(create.values()), statuses=can_rate + create,
                         ratings_created=create[201] if created is None else created,
                         pairs_asked=sum(can_rate.values()) if asked is None else asked,
                         can_rate=can_rate, refusals=Counter(refusals or {}), create=create)


def test_a_first_run_and_a_rerun_hold():
    assert traffic_problems(report({200: 60}, create={201: 60}), 60) == []
    assert traffic_problems(report({200: 60}, refusals={"already-rated": 60}), 60) == []


@pytest.mark.parametrize("observed, pairs, problem", [
    (report({401: 60}), 60, "can-rate answered 401 x60 (expected 200)"),
    (report({200: 58, 500: 2}, create={201: 58}), 60, "can-rate answered 500 x2 (expected 200)"),
    (report({200: 60}, refusals={"no-completed-order": 3}, create={201: 57}), 60,
     "can-rate said no to buyers with a completed order: no-completed-order x3"),
    (report({200: 60}, create={201: 50, 409: 10}), 60, "POST /api/v1/ratings answered 409 x10 (expected 201)"),
    (report({200: 60}, create={201: 59, 429: 1}), 60, "answered 429 x1"),
    (report({200: 20}, create={201: 20}), 60, "only 20 of 60 buyers were asked before the deadline"),
    (report(), 0, "no buyer with a completed order"),
])
def test_traffic_that_did_not_get_its_answers_fails(observed, pairs, problem):
    problems = traffic_problems(observed, pairs)
    assert any(problem in p for p in problems), problems


def test_reads_must_all_answer_200():
    assert reads_problems(Counter({200: 60}), Counter({200: 60})) == []
    assert reads_problems(Counter({200: 59, 503: 1}), Counter({200: 60})) == [
        "API reads answered 503 x1 (expected 200)"]
    assert reads_problems(Counter({200: 60}), Counter({404: 60})) == [
        "seller pages answered 404 x60 (expected 200)"]
    assert reads_problems(Counter(), Counter()) == ["no reads were made"]


def alert(rule, state, subject="database", message="m"):
    return {"rule": rule, "subject": subject, "state": state, "fired": state in ("firing", "unreachable"),
            "message": message, "value": "", "threshold": ""}


QUIET_API = [alert("error_rate", "no-data", "local"), alert("latency", "no-data", "local"),
             alert("rate_limit", "ok", "local"), alert("discrepancies", "ok")]


def test_the_abuse_rule_firing_alone_on_the_burst_holds():
    assert alert_problems(1, QUIET_API + [alert("rating_spike", "firing")], burst=60, min_ratings=20) == []


def test_a_rerun_without_a_new_burst_holds_whether_or_not_the_spike_still_fires():
    assert alert_problems(1, QUIET_API + [alert("rating_spike", "firing")], burst=0, min_ratings=20) == []
    assert alert_problems(0, QUIET_API + [alert("rating_spike", "ok")], burst=0, min_ratings=20) == []


def test_the_abuse_rule_not_firing_on_the_burst_fails():
    problems = alert_problems(0, QUIET_API + [alert("rating_spike", "ok", message="3 rating(s) in the last hour")],
                              burst=60, min_ratings=20)
    assert problems == ["the abuse rule (rating_spike) did not fire on the demo's burst of 60 ratings: "
                        "3 rating(s) in the last hour"]
    assert alert_problems(0, QUIET_API, burst=60, min_ratings=20) == [
        "the abuse rule (rating_spike) did not fire on the demo's burst of 60 ratings: the rule was not evaluated"]


def test_any_other_alert_firing_fails():
    found = [alert("host", "unreachable", "local", "local: /metrics unreachable"), alert("discrepancies", "ok"),
             alert("rating_spike", "firing")]
    assert alert_problems(1, found, burst=60, min_ratings=20) == [
        "host fired (local): local: /metrics unreachable"]


def test_the_exit_code_must_match_what_fired():
    spike = QUIET_API + [alert("rating_spike", "firing")]
    assert alert_problems(0, spike, 60, 20) == ["monitor.alerts exited 0, expected 1 (1 alert(s) fired)"]
    assert alert_problems(2, QUIET_API, 0, 20) == ["monitor.alerts exited 2, expected 0 (0 alert(s) fired)"]

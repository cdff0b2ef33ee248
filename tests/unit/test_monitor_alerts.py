"""The alert rules, checks/alerts.yaml validation and the webhook message (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.errors import EXIT_BAD_INPUT, ConfigError
from deploy.monitoring import alerts, alerts_spec, webhook
from deploy.monitoring.alerts import FIRING, NO_DATA, OK, UNREACHABLE
from deploy.monitoring.alerts_spec import AlertSpec
from deploy.monitoring.api_stats import ApiStats
from deploy.secrets import Secret

REPO = Path(__file__).resolve().parents[2]
SPEC = AlertSpec()


def spec_from(tmp_path: Path, text: str) -> AlertSpec:
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "checks" / "alerts.yaml").write_text(text)
    return alerts_spec.load(tmp_path)


def test_the_shipped_file_is_valid_and_holds_the_runbooks_numbers():
    spec = alerts_spec.load(REPO)
    assert spec.error_rate.max_percent == 5 and spec.latency.max_seconds == 1 and spec.latency.quantile == 0.95
    assert spec.discrepancies.max == 0 and spec.rating_spike.factor == 3
    assert spec == AlertSpec()                    # the file documents the defaults, value for value


def test_a_missing_file_means_the_defaults(tmp_path):
    assert alerts_spec.load(tmp_path) == AlertSpec()


@pytest.mark.parametrize("text, message", [
    ("error_rate: {max_percent: 120}", "error_rate.max_percent: Input should be less than or equal to 100"),
    ("latency: {quantile: 1.5}", "latency.quantile: Input should be less than 1"),
    ("latency: {max_seconds: 0}", "latency.max_seconds: Input should be greater than 0"),
    ("rating_spike: {factor: lots}", "rating_spike.factor: Input should be a valid number"),
    ("api: {window: soon}", "api.window: 'soon' is not a duration"),
    ("api: {timeout: 0}", "api.timeout: Input should be greater than 0"),
    ("rate_limit: {max_hits: -1}", "rate_limit.max_hits: Input should be greater than or equal to 0"),
    ("error_rte: {max_percent: 5}", "error_rte: unknown key"),
    ("latency: {max_ms: 500}", "latency.max_ms: unknown key"),
    ("error_rate: [1, 2", "YAML syntax error"),
])
def test_bad_values_are_one_line_config_errors_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        spec_from(tmp_path, text)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert str(caught.value).startswith("checks/alerts.yaml:") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def stats(requests=100, errors=0, p95=0.1, hits=0) -> ApiStats:
    return ApiStats(requests, errors, p95, hits)


def by_rule(found):
    return {a.rule: a for a in found}


def test_host_rules_fire_on_their_thresholds_and_stay_quiet_below():
    quiet = by_rule(alerts.host_alerts(SPEC, "api-1", stats(100, 5, 1.0, 100), None, "in 10 s"))
    assert {r: a.state for r, a in quiet.items()} == {"error_rate": OK, "latency": OK, "rate_limit": OK}
    loud = by_rule(alerts.host_alerts(SPEC, "api-1", stats(100, 6, 1.01, 101), None, "in 10 s"))
    assert {r: a.state for r, a in loud.items()} == {"error_rate": FIRING, "latency": FIRING, "rate_limit": FIRING}
    assert loud["error_rate"].value == "6.00%" and loud["latency"].value == "1010 ms"
    assert "6 of 100 request(s) in 10 s failed" in loud["error_rate"].message
    assert all(a.fired for a in loud.values())


def test_too_little_traffic_is_said_not_judged():
    found = by_rule(alerts.host_alerts(SPEC, "api-1", stats(19, 19, 5.0, 0), None, "in 10 s"))
    assert found["error_rate"].state == NO_DATA and found["latency"].state == NO_DATA
    assert "not enough traffic" in found["error_rate"].message and not found["error_rate"].fired


def test_an_unreachable_host_is_an_alert_of_its_own():
    found = alerts.host_alerts(SPEC, "api-2", None, "connection refused", "in 10 s")
    assert [(a.rule, a.subject, a.state, a.fired) for a in found] == [("host", "api-2", UNREACHABLE, True)]
    assert "connection refused" in found[0].message


def test_disabled_rules_are_not_evaluated(tmp_path):
    spec = spec_from(tmp_path, "error_rate: {enabled: false}\nrate_limit: {enabled: false}\n")
    assert [a.rule for a in alerts.host_alerts(spec, "h", stats(), None, "")] == ["latency"]


def test_discrepancies():
    assert alerts.discrepancy_alert(SPEC, 0).state == OK
    fired = alerts.discrepancy_alert(SPEC, 3)
    assert fired.state == FIRING and "monitor.recalculate" in fired.message and fired.value == "3"


@pytest.mark.parametrize("hourly, state", [
    ([30] + [2] * 24, FIRING),              # 30 > 3 x 2 and >= 20
    ([6] + [2] * 24, OK),                   # not above 3 x the median
    ([7] + [2] * 24, OK),                   # above, but under min_ratings: not worth a page
    ([20] + [0] * 24, FIRING),              # quiet before: any 20 is a spike
    ([19] + [0] * 24, OK),
    ([60] + [30] * 12 + [0] * 12, FIRING),  # median of trailing hours = 15
    ([45] + [30] * 12 + [0] * 12, OK),
])
def test_rating_spike_against_the_trailing_median(hourly, state):
    alert = alerts.spike_alert(SPEC, hourly)
    assert alert.state == state, alert
    assert alert.subject == "database" and f"{hourly[0]} in the last hour" == alert.value


def test_webhook_message_is_slack_shaped_escaped_and_masked():
    secret = Secret("hunter2-webhook-secret", name="x")
    fired = [alerts.Alert("error_rate", "api-1", FIRING, "7.00%", "> 5%", f"7 of 100 <failed> & {secret.reveal()}"),
             alerts.Alert("host", "api-2", UNREACHABLE, "no answer", "/metrics reachable", "refused")]
    quiet = alerts.Alert("latency", "api-1", OK, "10 ms", "> 1000 ms", "fine")
    msg = webhook.message("production", fired + [quiet])
    assert set(msg) == {"text", "blocks"}
    assert msg["blocks"][0] == {"type": "header", "text": {"type": "plain_text",
                                                          "text": "monitor.alerts on production: 2 alert(s) fired"}}
    body = msg["blocks"][1]["text"]["text"]
    assert msg["blocks"][1]["type"] == "section" and msg["blocks"][1]["text"]["type"] == "mrkdwn"
    assert "*error_rate* on api-1 (firing): 7 of 100 &lt;failed&gt; &amp; ***" in body
    assert "*host* on api-2 (unreachable)" in body and "latency" not in body
    assert "hunter2-webhook-secret" not in json.dumps(msg)
    assert msg["text"].startswith("monitor.alerts on production: 2 alert(s) fired\n")


def test_webhook_message_stays_under_slacks_section_limit():
    many = [alerts.Alert("host", f"api-{i}", UNREACHABLE, "-", "-", "x" * 200) for i in range(40)]
    body = webhook.message("p", many)["blocks"][1]["text"]["text"]
    assert len(body) <= 3000 and body.endswith("…")


@pytest.mark.parametrize("url", ["ftp://x/y", "hooks.slack.com/services/x", "", "http://"])
def test_webhook_url_must_be_http(url):
    with pytest.raises(ConfigError, match="--webhook"):
        webhook.check_url(url)

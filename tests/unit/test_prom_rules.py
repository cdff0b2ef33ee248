"""The Prometheus rules builder, its part of checks/alerts.yaml, and the one module of metric names
(pure; `promtool` runs them in tests/integration/test_alert_rules_promtool.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from deploy.gates import metrics as metrics_gate
from deploy.errors import ConfigError
from deploy.monitoring import alert_catalog, alerts_spec, api_stats, metric_names, prom_rules, prometheus
from deploy.monitoring.alerts_spec import AlertSpec

REPO = Path(__file__).resolve().parents[2]


def spec(**sections) -> AlertSpec:
    return AlertSpec.model_validate(sections)


def by_rule(document: dict) -> dict[str, dict]:
    return {r["labels"]["rule"]: r for r in document["groups"][0]["rules"]}


# -- durations and matchers ------------------------------------------------------------------------
@pytest.mark.parametrize("seconds, text", [(300, "5m"), (90, "90s"), (3600, "1h"), (0.5, "500ms"), (1, "1s"),
                                           (7200, "2h"), (61, "61s"), (0, "0s")])
def test_promql_durations(seconds, text):
    assert prom_rules.duration(seconds) == text


@pytest.mark.parametrize("prefix, regex", [
    ("/api/", "/api/.*"),
    ("/api/v1.0/", "/api/v1\\\\.0/.*"),              # RE2 \. with the backslash doubled for PromQL
    ('/a"b(c)/', '/a\\"b\\\\(c\\\\)/.*'),
])
def test_route_prefix_becomes_an_escaped_promql_regex(prefix, regex):
    assert metric_names.prefix_regex(prefix) == regex


def test_selector_holds_only_the_matchers_asked_for():
    assert metric_names.selector("up", None) == "up"
    assert (metric_names.selector("http_requests_total", "/api/", errors=True, job="j")
            == 'http_requests_total{job="j",route=~"/api/.*",status=~"5.."}')


# -- the rules --------------------------------------------------------------------------------------
def test_default_rules_say_the_runbooks_thresholds_in_promql():
    rules = by_rule(prom_rules.rules(AlertSpec(), "production"))
    assert list(rules) == ["error_rate", "latency", "rate_limit", "host"]
    error = rules["error_rate"]
    assert error["alert"] == "MarketplaceApiErrorRate" and error["for"] == "5m"
    assert error["labels"] == {"severity": "critical", "rule": "error_rate", "environment": "production"}
    assert error["expr"] == (
        'label_replace(100 * sum by (instance) (increase(http_requests_total{job="marketplace-api",route=~"/api/.*",'
        'status=~"5.."}[5m])) / sum by (instance) (increase(http_requests_total{job="marketplace-api",'
        'route=~"/api/.*"}[5m])) > 5 and on (instance) sum by (instance) (increase(http_requests_total'
        '{job="marketplace-api",route=~"/api/.*"}[5m])) >= 20, "host", "$1", "instance", "(.+?)(?::[0-9]+)?")')
    latency = rules["latency"]
    assert latency["expr"].startswith(
        'label_replace(histogram_quantile(0.95, sum by (instance, le) (rate(http_request_duration_seconds_bucket'
        '{job="marketplace-api",route=~"/api/.*"}[5m]))) > 1 and on (instance) ')
    assert latency["for"] == "10m" and latency["labels"]["severity"] == "warning"
    assert " > 100, " in rules["rate_limit"]["expr"] and "rate_limit_hits_total{job=" in rules["rate_limit"]["expr"]
    assert rules["host"]["expr"].startswith('label_replace(up{job="marketplace-api"} == 0, ')
    assert rules["host"]["for"] == "1m" and rules["host"]["labels"]["severity"] == "critical"


def test_every_rule_names_the_invoke_task_that_helps():
    rules = by_rule(prom_rules.rules(AlertSpec(), "staging"))
    assert "invoke rollback.backend --env staging" in rules["error_rate"]["annotations"]["runbook"]
    assert rules["latency"]["annotations"]["runbook"].startswith("invoke db.diagnose --env staging")
    assert "invoke monitor.metrics --env staging" in rules["rate_limit"]["annotations"]["runbook"]
    assert "invoke status --env staging" in rules["host"]["annotations"]["runbook"]
    for rule in rules.values():
        assert rule["annotations"]["summary"].startswith("{{ $labels.host }}: ")
    assert alert_catalog.runbook("discrepancies", "p").endswith("invoke monitor.recalculate --env p")


def test_thresholds_windows_and_holds_come_from_the_spec():
    custom = spec(api={"route_prefix": "/v2/", "min_requests": 50},
                  error_rate={"max_percent": 2.5, "for": "90s", "severity": "warning"},
                  latency={"quantile": 0.99, "max_seconds": 0.25},
                  rate_limit={"max_hits": 7},
                  prometheus={"rate_window": "2m", "job": "api", "down_for": "30s"})
    rules = by_rule(prom_rules.rules(custom, "t"))
    assert '/ sum by (instance) (increase(http_requests_total{job="api",route=~"/v2/.*"}[2m])) > 2.5 and' \
        in rules["error_rate"]["expr"]
    assert ">= 50, " in rules["error_rate"]["expr"]
    assert rules["error_rate"]["for"] == "90s" and rules["error_rate"]["labels"]["severity"] == "warning"
    assert rules["latency"]["expr"].startswith("label_replace(histogram_quantile(0.99, ")
    assert ") > 0.25 and on (instance)" in rules["latency"]["expr"]
    assert "p99 response time" in rules["latency"]["annotations"]["summary"]
    assert "[2m])) > 7, " in rules["rate_limit"]["expr"]
    assert rules["host"]["for"] == "30s"


def test_disabled_rules_and_no_job_leave_their_alerts_out():
    rules = by_rule(prom_rules.rules(spec(latency={"enabled": False}, rate_limit={"enabled": False},
                                          prometheus={"job": None}), "t"))
    assert list(rules) == ["error_rate"]             # `up` without a job would judge every target
    assert "job=" not in rules["error_rate"]["expr"]


def test_render_is_a_yaml_rules_file_with_a_header():
    text = prom_rules.render(AlertSpec(), "t")
    assert text.startswith("# Generated by `invoke monitor.rules` from checks/alerts.yaml")
    assert yaml.safe_load(text) == prom_rules.rules(AlertSpec(), "t")


# -- checks/alerts.yaml: for, severity, prometheus ---------------------------------------------------
def test_the_shipped_file_states_the_defaults():
    assert alerts_spec.load(REPO) == AlertSpec()


@pytest.mark.parametrize("text, message", [
    ("error_rate: {for: soon}", "checks/alerts.yaml: error_rate.for: 'soon' is not a duration"),
    ("latency: {severity: page}", "checks/alerts.yaml: latency.severity: Input should be 'critical' or 'warning'"),
    ("prometheus: {rate_window: 0}", "checks/alerts.yaml: prometheus.rate_window: Input should be greater than 0"),
    ("prometheus: {jobs: x}", "checks/alerts.yaml: prometheus.jobs: unknown key"),
    ("rate_limit: {for_: 1m}", "checks/alerts.yaml: rate_limit.for_: unknown key"),
])
def test_bad_alert_settings_are_one_line(tmp_path, text, message):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "alerts.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        alerts_spec.load(tmp_path)
    assert str(caught.value).startswith(message)


# -- one module of metric names ---------------------------------------------------------------------
def standin_metrics():
    """The stand-in app's own metrics module (examples/marketplace/marketplace/metrics.py), by path."""
    found = importlib.util.spec_from_file_location(
        "standin_metrics", REPO / "examples" / "marketplace" / "marketplace" / "metrics.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


def test_the_standin_api_exports_the_names_the_pipeline_reads():
    app = standin_metrics().AppMetrics("api", "v1", 10, True)
    app.observe_request("/api/v1/ratings", "POST", 500, 0.2)
    exported = {s.name for s in prometheus.parse(app.render())}
    assert {metric_names.REQUESTS, metric_names.DURATION_BUCKET, metric_names.RATE_LIMITED} <= exported


def test_the_metrics_gate_the_scraper_and_the_rules_read_the_same_names():
    assert (api_stats.REQUESTS, api_stats.DURATION, api_stats.RATE_LIMITED) == (
        metric_names.REQUESTS, metric_names.DURATION, metric_names.RATE_LIMITED)
    gate = metrics_gate.PromQueries()
    requests = metric_names.selector(metric_names.REQUESTS)
    assert f"increase({requests}[{{window}}])" in gate.samples
    assert f"increase({metric_names.selector(metric_names.REQUESTS, errors=True)}[{{window}}])" in gate.error_percent
    assert f"rate({metric_names.selector(metric_names.DURATION_BUCKET)}[{{window}}])" in gate.p95_seconds
    # the shipped checks/rollout.yaml leaves the queries to these defaults
    assert metrics_gate.load(REPO).prometheus.queries == gate
    rules = prom_rules.expressions(spec(prometheus={"job": None}))
    assert f"increase({requests}[5m])" in rules["error_rate"]
    assert metric_names.DURATION_BUCKET in rules["latency"] and metric_names.RATE_LIMITED in rules["rate_limit"]

"""The database alerts as Alertmanager API v2 alerts (pure): labels as the Prometheus rules',
endsAt in the future while firing and now when resolved, HTTP rules left to Prometheus."""

from __future__ import annotations

from datetime import datetime, timezone

from deploy.monitoring import alerts as rules
from deploy.monitoring import am_alerts
from deploy.monitoring.alerts_spec import AlertSpec
from deploy.secrets import Secret

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SPEC = AlertSpec.model_validate({"rating_spike": {"severity": "critical"}})


def judged() -> list[rules.Alert]:
    return [rules.discrepancy_alert(SPEC, 3), rules.spike_alert(SPEC, [2] + [2] * 24),
            rules.Alert("error_rate", "api-1", rules.FIRING, "50%", "> 5%", "api-1: 5xx")]


def test_firing_expires_later_resolved_ends_now_http_rules_left_out():
    batch = am_alerts.payload(judged(), SPEC, "production", NOW, 3600)
    assert [a["labels"]["alertname"] for a in batch] == ["MarketplaceAggregateDiscrepancies", "MarketplaceRatingSpike"]
    firing, resolved = batch
    assert firing["labels"] == {"alertname": "MarketplaceAggregateDiscrepancies", "severity": "warning",
                                "rule": "discrepancies", "environment": "production", "host": "database",
                                "source": "monitor.alerts"}
    assert (firing["startsAt"], firing["endsAt"]) == ("2026-03-01T12:00:00.000Z", "2026-03-01T13:00:00.000Z")
    assert firing["annotations"]["runbook"].endswith("invoke monitor.recalculate --env production")
    assert firing["annotations"]["summary"].startswith("3 seller(s) with stored aggregates")
    assert firing["annotations"]["value"] == "3"
    assert resolved["labels"]["severity"] == "critical"              # from checks/alerts.yaml
    assert resolved["startsAt"] == resolved["endsAt"] == "2026-03-01T12:00:00.000Z"


def test_an_unreachable_database_is_critical():
    down = rules.Alert("database", rules.DATABASE, rules.UNREACHABLE, "no answer", "reachable", "timeout")
    (alert,) = am_alerts.payload([down], AlertSpec(), "p", NOW, 60)
    assert alert["labels"]["alertname"] == "MarketplaceDatabaseUnreachable"
    assert alert["labels"]["severity"] == "critical" and alert["endsAt"] == "2026-03-01T12:01:00.000Z"


def test_secrets_in_messages_are_masked():
    secret = Secret("odbc-password-in-an-error-1234", "x")
    down = rules.Alert("database", rules.DATABASE, rules.UNREACHABLE, "no answer", "reachable",
                       f"login failed: {secret.reveal()}")
    (alert,) = am_alerts.payload([down], AlertSpec(), "p", NOW, 60)
    assert "odbc-password-in-an-error-1234" not in str(alert)


def test_the_api_endpoint():
    assert am_alerts.endpoint("http://am:9093/") == "http://am:9093/api/v2/alerts"
    assert am_alerts.endpoint("https://am.example/prefix") == "https://am.example/prefix/api/v2/alerts"

"""The database-side alerts as Alertmanager alerts (POST /api/v2/alerts), for monitor.alerts.

Discrepancies and the ratings spike cannot be PromQL (they are SQL over the ratings), so
monitor.alerts judges them and hands them to Alertmanager, where routing, grouping, dedup and
silences already live for the Prometheus rules. Each run posts every database rule it judged:
a firing one with endsAt = now + notify.alertmanager.expire_after (re-posted by the next run,
or resolved by Alertmanager when runs stop), an ok one with endsAt = now (resolves it at once).
Labels match the Prometheus rules' (alertname, severity, rule, environment, host).

`payload` is pure; `post` sends it and returns a reason on failure, never raises, never the URL.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from deploy.monitoring import alert_catalog
from deploy.monitoring import alerts as rules
from deploy.monitoring.alerts_spec import AlertSpec
from deploy.output.notify import post as deliver
from deploy.secrets import mask

DATABASE_RULES = ("discrepancies", "rating_spike", "database")
PATH = "/api/v2/alerts"
SOURCE = "monitor.alerts"


def severity(spec: AlertSpec, rule: str) -> str:
    """A database that cannot be reached is critical (nothing is judged); the rules say their own."""
    return "critical" if rule == "database" else getattr(spec, rule).severity


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload(found: list[rules.Alert], spec: AlertSpec, environment: str, now: datetime,
            expire_after: float) -> list[dict]:
    """One Alertmanager alert per database rule judged (firing or resolved); HTTP rules are left out."""
    out = []
    for alert in found:
        if alert.rule not in DATABASE_RULES:
            continue
        ends = now + timedelta(seconds=expire_after) if alert.fired else now
        out.append({
            "labels": {"alertname": alert_catalog.name(alert.rule), "severity": severity(spec, alert.rule),
                       "rule": alert.rule, "environment": environment, "host": alert.subject,
                       "source": SOURCE},
            "annotations": {"summary": mask(alert.message), "runbook": alert_catalog.runbook(alert.rule, environment),
                            "value": mask(alert.value), "threshold": alert.threshold},
            "startsAt": _stamp(now),
            "endsAt": _stamp(ends),
        })
    return out


def endpoint(url: str) -> str:
    return url.rstrip("/") + PATH


def post(url: str, alerts: list[dict], timeout: float) -> str | None:
    """None when Alertmanager took them (2xx), else the reason (no URL in it)."""
    return deliver(endpoint(url), json.dumps(alerts).encode("utf-8"), timeout)

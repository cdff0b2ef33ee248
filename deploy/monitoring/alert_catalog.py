"""Pure: each alert rule's Alertmanager name and the invoke task that helps, in one place.

The Prometheus rules (prom_rules) and the database alerts monitor.alerts posts to Alertmanager
(am_alerts) take their `alertname` and `runbook` annotation from here, so a page names the same
alert and the same first step whichever side judged it.
"""

from __future__ import annotations

NAMES = {
    "error_rate": "MarketplaceApiErrorRate",
    "latency": "MarketplaceApiLatency",
    "rate_limit": "MarketplaceApiRateLimited",
    "host": "MarketplaceApiDown",
    "discrepancies": "MarketplaceAggregateDiscrepancies",
    "rating_spike": "MarketplaceRatingSpike",
    "database": "MarketplaceDatabaseUnreachable",
}

_RUNBOOK = {
    "error_rate": "invoke logs --env {env} (the failing requests); invoke status --env {env}; "
                  "if the last release caused it: invoke rollback.backend --env {env}",
    "latency": "invoke db.diagnose --env {env} --verbose (missing indexes, query plans)",
    "rate_limit": "invoke logs --env {env} (who is limited); invoke monitor.metrics --env {env} --days 1",
    "host": "invoke status --env {env}; invoke restart --env {env}",
    "discrepancies": "invoke monitor.verify --env {env}; fix: invoke monitor.recalculate --env {env}",
    "rating_spike": "invoke monitor.metrics --env {env} --days 1 (top sellers, ratings per day): "
                    "potential abuse",
    "database": "invoke status --env {env}; invoke checks.preflight --env {env} --only database",
}


def name(rule: str) -> str:
    return NAMES[rule]


def runbook(rule: str, environment: str) -> str:
    return _RUNBOOK[rule].format(env=environment)

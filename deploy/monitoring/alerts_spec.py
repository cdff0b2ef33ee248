"""checks/alerts.yaml -> a validated AlertSpec (the runbook's alert rules, thresholds editable).

A missing file means the defaults below (the runbook's numbers). An unknown key, a wrong type or
an out-of-range value is a ConfigError naming the file and the key (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from deploy.config.environment import Duration, Model, read_yaml, validate
from deploy.config.shipped import project_path

FILE = "checks/alerts.yaml"

Severity = Literal["critical", "warning"]     # Alertmanager routes critical to PagerDuty


def _for(default: float):
    """`for:` in the file: how long a Prometheus rule must hold before it fires (monitor.rules)."""
    return Field(default, alias="for", gt=0)


class ApiSource(Model):
    """Where the HTTP figures come from: GET /metrics on every host with the api app's role."""

    route_prefix: str = Field("/api/", min_length=1)
    # 0: totals since each API process started (one scrape); > 0: scrape twice, this far apart,
    # and judge only what happened in between
    window: Duration = 10
    timeout: Duration = Field(5, gt=0)
    min_requests: int = Field(20, ge=1)     # fewer requests than this: "not enough traffic"


class ErrorRateRule(Model):
    enabled: bool = True
    max_percent: float = Field(5.0, ge=0, le=100)      # 5xx share of API requests
    for_: Duration = _for(300)
    severity: Severity = "critical"


class LatencyRule(Model):
    enabled: bool = True
    quantile: float = Field(0.95, gt=0, lt=1)
    max_seconds: float = Field(1.0, gt=0)
    for_: Duration = _for(600)
    severity: Severity = "warning"


class DiscrepancyRule(Model):
    enabled: bool = True
    max: int = Field(0, ge=0)
    severity: Severity = "warning"


class SpikeRule(Model):
    """Ratings in the last hour above `factor` x the median of the trailing hours: potential abuse."""

    enabled: bool = True
    factor: float = Field(3.0, ge=1)
    trailing_hours: int = Field(24, ge=2, le=24 * 30)
    min_ratings: int = Field(20, ge=1)        # never fire below this many in the hour
    severity: Severity = "warning"


class RateLimitRule(Model):
    enabled: bool = True
    max_hits: int = Field(100, ge=0)         # 429s per host in the window (or since start)
    for_: Duration = _for(300)
    severity: Severity = "warning"


class PrometheusRules(Model):
    """How monitor.rules turns the HTTP rules into PromQL."""

    job: str | None = Field("marketplace-api", min_length=1)   # the scrape job of the API hosts
    rate_window: Duration = Field(300, gt=0)   # the range of rate()/increase(): judged over this
    down_for: Duration = Field(60, gt=0)       # `up == 0` this long: /metrics unreachable
    down_severity: Severity = "critical"


class AlertSpec(Model):
    api: ApiSource = ApiSource()
    error_rate: ErrorRateRule = ErrorRateRule()
    latency: LatencyRule = LatencyRule()
    discrepancies: DiscrepancyRule = DiscrepancyRule()
    rating_spike: SpikeRule = SpikeRule()
    rate_limit: RateLimitRule = RateLimitRule()
    prometheus: PrometheusRules = PrometheusRules()

    @property
    def needs_hosts(self) -> bool:
        return self.error_rate.enabled or self.latency.enabled or self.rate_limit.enabled


def load(root: Path) -> AlertSpec:
    file = project_path(root, FILE)
    if not file.is_file():
        return AlertSpec()
    return validate(AlertSpec, read_yaml(file, FILE) or {}, FILE)

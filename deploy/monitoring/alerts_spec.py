"""checks/alerts.yaml -> a validated AlertSpec (the runbook's alert rules, thresholds editable).

A missing file means the defaults below (the runbook's numbers). An unknown key, a wrong type or
an out-of-range value is a ConfigError naming the file and the key (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from deploy.config import Duration, Model, read_yaml, validate
from deploy.shipped import project_path

FILE = "checks/alerts.yaml"


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


class LatencyRule(Model):
    enabled: bool = True
    quantile: float = Field(0.95, gt=0, lt=1)
    max_seconds: float = Field(1.0, gt=0)


class DiscrepancyRule(Model):
    enabled: bool = True
    max: int = Field(0, ge=0)


class SpikeRule(Model):
    """Ratings in the last hour above `factor` x the median of the trailing hours: potential abuse."""

    enabled: bool = True
    factor: float = Field(3.0, ge=1)
    trailing_hours: int = Field(24, ge=2, le=24 * 30)
    min_ratings: int = Field(20, ge=1)        # never fire below this many in the hour


class RateLimitRule(Model):
    enabled: bool = True
    max_hits: int = Field(100, ge=0)         # 429s per host in the window (or since start)


class AlertSpec(Model):
    api: ApiSource = ApiSource()
    error_rate: ErrorRateRule = ErrorRateRule()
    latency: LatencyRule = LatencyRule()
    discrepancies: DiscrepancyRule = DiscrepancyRule()
    rating_spike: SpikeRule = SpikeRule()
    rate_limit: RateLimitRule = RateLimitRule()

    @property
    def needs_hosts(self) -> bool:
        return self.error_rate.enabled or self.latency.enabled or self.rate_limit.enabled


def load(root: Path) -> AlertSpec:
    file = project_path(root, FILE)
    if not file.is_file():
        return AlertSpec()
    return validate(AlertSpec, read_yaml(file, FILE) or {}, FILE)

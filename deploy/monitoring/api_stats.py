"""Pure: one API host's request counters -> requests, errors, error rate, p95 and 429s.

From one scrape the numbers are totals since the process started (the counters live in the
process and start at 0 on each restart). From two scrapes `delta` gives what happened between
them; a counter that went down means the process restarted, and then the second value is the
increase (PromQL's rate() treats resets the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.monitoring import histogram, prometheus
from deploy.monitoring.metric_names import DURATION, RATE_LIMITED, REQUESTS
from deploy.monitoring.prometheus import Sample


@dataclass(frozen=True)
class ApiStats:
    requests: int
    errors: int
    p95_seconds: float | None
    rate_limit_hits: int
    quantile: float = 0.95

    @property
    def error_rate(self) -> float | None:
        """Errors as a percentage of requests; None without requests."""
        return 100.0 * self.errors / self.requests if self.requests else None

    def as_dict(self) -> dict:
        return {"requests": self.requests, "errors": self.errors,
                "error_rate_percent": None if self.error_rate is None else round(self.error_rate, 3),
                "p95_ms": None if self.p95_seconds is None else round(self.p95_seconds * 1000, 1),
                "rate_limit_hits": self.rate_limit_hits}


def stats(samples: list[Sample], route_prefix: str = "/api/", quantile: float = 0.95) -> ApiStats:
    """Requests whose route starts with route_prefix (not /health, not /metrics itself); errors are 5xx.

    Several hosts' samples together give the fleet's figures: buckets add up per bound, so the
    quantile is that of all requests, not an average of the hosts' quantiles.
    """
    def on_route(s: Sample) -> bool:
        return s.label("route").startswith(route_prefix)

    requests = prometheus.total(samples, REQUESTS, on_route)
    errors = prometheus.total(samples, REQUESTS, lambda s: on_route(s) and s.label("status").startswith("5"))
    latency = histogram.quantile(quantile, histogram.buckets(samples, DURATION, on_route))
    hits = prometheus.total(samples, RATE_LIMITED)
    return ApiStats(int(requests), int(errors), latency, int(hits), quantile)


def delta(before: list[Sample], after: list[Sample]) -> list[Sample]:
    """The increase of every counter series between two scrapes (reset-aware)."""
    earlier = {(s.name, s.labels): s.value for s in before}
    out = []
    for s in after:
        old = earlier.get((s.name, s.labels), 0.0)
        out.append(Sample(s.name, s.labels, s.value - old if s.value >= old else s.value))
    return out

"""Pure: the alert rules. Measured values + the spec -> one Alert per rule and subject.

States: `firing` (over the threshold), `ok`, `no-data` (too little traffic to judge; says so),
`unreachable` (a host's /metrics did not answer: that is itself an alert, never "no alert").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from deploy.monitoring import periods
from deploy.monitoring.alerts_spec import AlertSpec
from deploy.monitoring.api_stats import ApiStats

FIRING, OK, NO_DATA, UNREACHABLE = "firing", "ok", "no-data", "unreachable"
DATABASE = "database"


@dataclass(frozen=True)
class Alert:
    rule: str          # error_rate, latency, rate_limit, host, discrepancies, rating_spike
    subject: str       # a host name, or "database"
    state: str
    value: str         # what was measured, for people
    threshold: str
    message: str

    @property
    def fired(self) -> bool:
        return self.state in (FIRING, UNREACHABLE)

    def as_dict(self) -> dict:
        return {**asdict(self), "fired": self.fired}


def host_alerts(spec: AlertSpec, host: str, stats: ApiStats | None, error: str | None,
                window: str) -> list[Alert]:
    """Error rate, latency and rate-limit hits for one API host (or one `unreachable` alert)."""
    if error is not None or stats is None:
        return [Alert("host", host, UNREACHABLE, "no answer", "/metrics reachable",
                      f"{host}: /metrics unreachable: {error or 'no data'}")]
    found = []
    enough = stats.requests >= spec.api.min_requests
    traffic = f"{stats.requests} request(s) {window}"
    if spec.error_rate.enabled:
        limit = spec.error_rate.max_percent
        if not enough:
            found.append(Alert("error_rate", host, NO_DATA, traffic, f"> {limit:g}%",
                               f"{host}: not enough traffic to judge the error rate ({traffic}; "
                               f"needs {spec.api.min_requests})"))
        else:
            rate = stats.error_rate or 0.0
            state = FIRING if rate > limit else OK
            found.append(Alert("error_rate", host, state, f"{rate:.2f}%", f"> {limit:g}%",
                               f"{host}: {stats.errors} of {traffic} failed with 5xx ({rate:.2f}%)"))
    if spec.latency.enabled:
        rule = spec.latency
        label = f"p{rule.quantile * 100:g}"
        limit = f"> {rule.max_seconds * 1000:g} ms"
        if not enough or stats.p95_seconds is None:
            found.append(Alert("latency", host, NO_DATA, traffic, limit,
                               f"{host}: not enough traffic to judge {label} latency ({traffic})"))
        else:
            ms = stats.p95_seconds * 1000
            state = FIRING if stats.p95_seconds > rule.max_seconds else OK
            found.append(Alert("latency", host, state, f"{ms:.0f} ms", limit,
                               f"{host}: {label} response time {ms:.0f} ms over {traffic}"))
    if spec.rate_limit.enabled:
        limit = spec.rate_limit.max_hits
        state = FIRING if stats.rate_limit_hits > limit else OK
        found.append(Alert("rate_limit", host, state, str(stats.rate_limit_hits), f"> {limit}",
                           f"{host}: {stats.rate_limit_hits} request(s) refused by the rate limiters {window}"))
    return found


def discrepancy_alert(spec: AlertSpec, count: int) -> Alert:
    limit = spec.discrepancies.max
    state = FIRING if count > limit else OK
    fix = "; fix: invoke monitor.recalculate" if state == FIRING else ""
    return Alert("discrepancies", DATABASE, state, str(count), f"> {limit}",
                 f"{count} seller(s) with stored aggregates that disagree with their ratings{fix}")


def spike_alert(spec: AlertSpec, hourly: list[int]) -> Alert:
    """hourly[0] is the last hour; hourly[1:] the trailing hours whose median is the baseline."""
    rule = spec.rating_spike
    last, trailing = (hourly[0] if hourly else 0), hourly[1:]
    baseline = periods.median(trailing)
    state = FIRING if last > rule.factor * baseline and last >= rule.min_ratings else OK
    return Alert("rating_spike", DATABASE, state, f"{last} in the last hour",
                 f"> {rule.factor:g} x median {baseline:g} and >= {rule.min_ratings}",
                 f"{last} rating(s) in the last hour; median of the {len(trailing)} hours before: "
                 f"{baseline:g}{'; potential abuse' if state == FIRING else ''}")


def fired(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.fired]

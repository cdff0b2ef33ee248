"""What monitor.metrics, monitor.alerts and monitor.report measure, gathered from the database
and the API hosts. Each function reads; none changes anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from deploy.config.environment import Environment
from deploy.db import aggregates, journal
from deploy.db.connect import Database, has_table
from deploy.errors import ConfigError
from deploy.monitoring import alerts as rules
from deploy.monitoring import api_stats, criteria, periods, queries, rollout, scrape
from deploy.monitoring.alerts_spec import AlertSpec
from deploy.monitoring.report_html import ReportData

TOP_SELLERS, MIN_RATINGS = 10, 3


@dataclass(frozen=True)
class Engagement:
    days: int
    weeks: int
    per_day: list[queries.DayCount]
    distribution: list[queries.StarShare]
    top_sellers: list[queries.TopSeller]
    weekly: list[queries.WeekActivity]
    participation: queries.Participation


@dataclass(frozen=True)
class HostResult:
    host: str
    url: str
    stats: api_stats.ApiStats | None
    error: str | None
    samples: tuple = ()

    def as_dict(self) -> dict:
        return {"host": self.host, "url": self.url, "reachable": self.error is None, "error": self.error,
                **(self.stats.as_dict() if self.stats else {})}


def require_ratings(db: Database) -> None:
    if not has_table(db, "SellerRatings"):
        raise ConfigError("no SellerRatings table yet: run deploy.phase1 first")


def engagement(db: Database, today: date, days: int, weeks: int, sql_root: Path | None = None) -> Engagement:
    return Engagement(
        days, weeks,
        queries.ratings_per_day(db, today, days, sql_root),
        queries.distribution(db, periods.ALL_TIME, sql_root),
        queries.top_rated_sellers(db, MIN_RATINGS, TOP_SELLERS, sql_root),
        queries.weekly_activity(db, today, weeks, sql_root),
        queries.participation(db, periods.ALL_TIME, sql_root),
    )


def api_hosts(env: Environment, spec: AlertSpec, window: float) -> list[HostResult]:
    found = scrape.scrape(scrape.targets(env), spec.api.timeout, window)
    return [HostResult(h.host, h.url,
                       api_stats.stats(h.samples, spec.api.route_prefix, spec.latency.quantile) if h.ok else None,
                       h.error, tuple(h.samples or ())) for h in found]


def database_alerts(db: Database, spec: AlertSpec, now: datetime, sql_root: Path | None) -> list[rules.Alert]:
    found = []
    if spec.discrepancies.enabled:
        found.append(rules.discrepancy_alert(spec, len(aggregates.discrepancies(db, sql_root))))
    if spec.rating_spike.enabled:
        hours = spec.rating_spike.trailing_hours + 1
        found.append(rules.spike_alert(spec, queries.ratings_per_hour(db, now, hours, sql_root)))
    return found


def host_alerts(spec: AlertSpec, hosts: list[HostResult], window: float) -> list[rules.Alert]:
    text = scrape.window_text(window)
    return [a for h in hosts for a in rules.host_alerts(spec, h.host, h.stats, h.error, text)]


def report(env: Environment, db: Database, spec: AlertSpec, days: int, now: datetime,
           sql_root: Path | None = None) -> ReportData:
    """The success criteria and the charts' data for the last `days` days."""
    since = periods.days_since(now.date(), days)
    shares = queries.distribution(db, since, sql_root)
    average, count = queries.average_rating(shares)
    hosts = api_hosts(env, spec, 0)
    answered = [h for h in hosts if h.error is None]
    measured = criteria.Measured(
        days=days,
        participation=queries.participation(db, since, sql_root),
        average_rating=average, ratings=count,
        discrepancies=len(aggregates.discrepancies(db, sql_root)),
        coverage=queries.seller_coverage(db, since, MIN_RATINGS, sql_root),
        api=_fleet(answered, spec),
        unreachable=[h.host for h in hosts if h.error is not None],
        min_requests=spec.api.min_requests,
    )
    events = journal.query(db, phase=rollout.PHASE, action=rollout.ACTION, environment=env.name, limit=None)
    return ReportData(
        environment=env.name, generated_at=now, days=days,
        criteria=criteria.evaluate(measured),
        per_day=queries.ratings_per_day(db, now.date(), days, sql_root),
        distribution=shares,
        rollout=rollout.within(rollout.timeline(events), since, now),
        top_sellers=queries.top_rated_sellers(db, MIN_RATINGS, TOP_SELLERS, sql_root),
        hosts=[{"host": h.host, "state": "unreachable" if h.error else "ok",
                "detail": h.error or _host_detail(h)} for h in hosts],
    )


def _fleet(answered: list[HostResult], spec: AlertSpec) -> api_stats.ApiStats | None:
    """All answering hosts as one: their samples summed, so p95 is over every request."""
    if not answered:
        return None
    return api_stats.stats([s for h in answered for s in h.samples], spec.api.route_prefix,
                           spec.latency.quantile)


def _host_detail(h: HostResult) -> str:
    s = h.stats.as_dict()
    return (f"{s['requests']} API requests, {s['errors']} 5xx, p95 "
            f"{'-' if s['p95_ms'] is None else str(s['p95_ms']) + ' ms'}, {s['rate_limit_hits']} rate-limited")

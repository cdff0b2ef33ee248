"""Pure: the runbook's success criteria, each with the measured value, the target and a verdict.

--days 30 judges the 30-day goals; --days 90 the 90-day goals plus the 30-day goals that the
90-day list does not replace (average rating, p95 latency, zero inconsistencies). A criterion
that cannot be measured says `no-data` and why; it never passes (the satisfaction survey has no
data source here at all).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from deploy.monitoring.api_stats import ApiStats
from deploy.monitoring.queries import Participation, SellerCoverage

PASS, FAIL, NO_DATA = "pass", "fail", "no-data"
GOAL_DAYS = (30, 90)


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    measured: str
    target: str
    status: str
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Measured:
    """Everything the criteria read; None where it could not be measured."""

    days: int
    participation: Participation
    average_rating: Decimal | None
    ratings: int
    discrepancies: int
    coverage: SellerCoverage
    api: ApiStats | None                       # all reachable API hosts together
    unreachable: list[str] = field(default_factory=list)
    min_requests: int = 20
    api_window: str = "since the process started"


def evaluate(m: Measured) -> list[Criterion]:
    ninety = m.days >= 90
    found = [participation(m, Decimal(40) if ninety else Decimal(20))]
    if ninety:
        found.append(seller_coverage(m))
    found += [average_rating(m), error_rate(m, Decimal("0.1") if ninety else Decimal(1)),
              latency(m), inconsistencies(m)]
    if ninety:
        found.append(Criterion("satisfaction", "Feature satisfaction score", "no data source", ">= 4.5 / 5",
                               NO_DATA, "no survey results are recorded anywhere the pipeline can read"))
    return found


def participation(m: Measured, target: Decimal) -> Criterion:
    p = m.participation
    name = "Buyers with a completed order who rated a seller"
    goal = f">= {target}%"
    if not p.buyers_with_completed_orders:
        return Criterion("participation", name, "no completed orders", goal, NO_DATA,
                         f"no buyer completed an order in the last {m.days} days")
    rate = p.buyer_participation_rate if p.buyer_participation_rate is not None else Decimal(0)
    return Criterion("participation", name,
                     f"{rate}% ({p.buyers_who_rated:,} of {p.buyers_with_completed_orders:,} buyers)", goal,
                     PASS if rate >= target else FAIL, f"completed orders and ratings of the last {m.days} days")


def seller_coverage(m: Measured, target: Decimal = Decimal(80)) -> Criterion:
    c = m.coverage
    name = "Active sellers with >= 3 ratings"
    goal = f">= {target}%"
    if not c.active_sellers:
        return Criterion("seller_coverage", name, "no active sellers", goal, NO_DATA,
                         f"no seller completed an order in the last {m.days} days")
    rate = c.coverage if c.coverage is not None else Decimal(0)
    return Criterion("seller_coverage", name,
                     f"{rate}% ({c.sellers_with_min_ratings:,} of {c.active_sellers:,} active sellers)", goal,
                     PASS if rate >= target else FAIL,
                     f"active: a completed order as seller in the last {m.days} days")


def average_rating(m: Measured, target: Decimal = Decimal("4.0")) -> Criterion:
    goal = f">= {target}"
    if m.average_rating is None:
        return Criterion("average_rating", "Average rating", "no ratings", goal, NO_DATA,
                         f"no ratings in the last {m.days} days")
    return Criterion("average_rating", "Average rating", f"{m.average_rating} ({m.ratings:,} ratings)", goal,
                     PASS if m.average_rating >= target else FAIL, f"ratings of the last {m.days} days")


def error_rate(m: Measured, target: Decimal) -> Criterion:
    name, goal = "Error rate of the rating API (5xx)", f"< {target}%"
    missing = _api_missing(m)
    if missing:
        return Criterion("error_rate", name, missing[0], goal, NO_DATA, missing[1])
    rate = Decimal(str(m.api.error_rate or 0.0)).quantize(Decimal("0.001"))
    return Criterion("error_rate", name, f"{rate}% ({m.api.errors:,} of {m.api.requests:,} requests)", goal,
                     PASS if rate < target else FAIL, f"API requests {m.api_window}")


def latency(m: Measured, target_ms: int = 500) -> Criterion:
    name, goal = "API response time, p95", f"< {target_ms} ms"
    missing = _api_missing(m)
    if missing or m.api.p95_seconds is None:
        what = missing or ("no latency data", "the request-duration histogram is empty")
        return Criterion("latency_p95", name, what[0], goal, NO_DATA, what[1])
    ms = m.api.p95_seconds * 1000
    return Criterion("latency_p95", name, f"{ms:.0f} ms", goal, PASS if ms < target_ms else FAIL,
                     f"{m.api.requests:,} API requests {m.api_window}")


def inconsistencies(m: Measured) -> Criterion:
    return Criterion("inconsistencies", "Aggregate inconsistencies", f"{m.discrepancies:,} sellers", "0",
                     PASS if m.discrepancies == 0 else FAIL,
                     "stored aggregates against the ratings" + ("; fix: invoke monitor.recalculate"
                                                                if m.discrepancies else ""))


def _api_missing(m: Measured) -> tuple[str, str] | None:
    if m.unreachable:
        return "host unreachable", f"/metrics did not answer on {', '.join(m.unreachable)}"
    if m.api is None or m.api.requests < m.min_requests:
        n = 0 if m.api is None else m.api.requests
        return "not enough traffic", f"{n} API request(s) {m.api_window}; needs {m.min_requests}"
    return None


def counts(found: list[Criterion]) -> dict[str, int]:
    return {s: sum(1 for c in found if c.status == s) for s in (PASS, FAIL, NO_DATA)}

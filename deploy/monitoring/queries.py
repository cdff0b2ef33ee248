"""The runbook's engagement queries, run from sql/<dialect>/monitoring/*.sql, as typed rows.

Each file holds one statement with named parameters (see sqlparams). Times are bound as the
journal binds them (UTC; ISO text for SQLite, naive UTC datetimes through ODBC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from deploy.db.aggregates import SQL_ROOT
from deploy.db.connect import Database
from deploy.db.journal import db_time
from deploy.db.scripts import pieces
from deploy.errors import ConfigError
from deploy.monitoring import periods, sqlparams

FOLDER = "monitoring"
STARS = (5, 4, 3, 2, 1)


@dataclass(frozen=True)
class DayCount:
    day: date
    ratings: int


@dataclass(frozen=True)
class StarShare:
    rating: int
    ratings: int
    percentage: Decimal


@dataclass(frozen=True)
class TopSeller:
    seller_id: int
    seller_name: str
    seller_rating: Decimal | None
    total_ratings: int
    positive_ratings: int


@dataclass(frozen=True)
class WeekActivity:
    week_start: date
    ratings: int
    average_rating: Decimal | None


@dataclass(frozen=True)
class Participation:
    users_who_rated: int
    total_users: int
    participation_rate: Decimal | None            # raters / all users (the runbook's query)
    buyers_with_completed_orders: int
    buyers_who_rated: int
    buyer_participation_rate: Decimal | None      # the success criterion


@dataclass(frozen=True)
class SellerCoverage:
    active_sellers: int
    sellers_with_min_ratings: int
    coverage: Decimal | None


def statement(dialect: str, name: str, sql_root: Path | None = None) -> str:
    """The one statement of sql/<dialect>/monitoring/<name>.sql (comments kept)."""
    path = Path(sql_root or SQL_ROOT) / dialect / FOLDER / f"{name}.sql"
    if not path.is_file():
        raise ConfigError(f"missing SQL file {path}")
    found = pieces(path.read_text(encoding="utf-8-sig"), dialect)
    if len(found) != 1:
        raise ConfigError(f"sql/{dialect}/{FOLDER}/{name}.sql: expected one statement, found {len(found)}")
    return found[0]


def run(db: Database, name: str, sql_root: Path | None = None, **values: Any) -> list[tuple]:
    bound = {k: db_time(v, db.dialect) if isinstance(v, datetime) else v for k, v in values.items()}
    sql, params = sqlparams.bind(statement(db.dialect, name, sql_root), db.dialect, bound,
                                 source=f"sql/{db.dialect}/{FOLDER}/{name}.sql")
    return db.query(sql, params)


# -- the queries ---------------------------------------------------------------------------------
def ratings_per_day(db: Database, today: date, days: int, sql_root: Path | None = None) -> list[DayCount]:
    """Every one of the last `days` days, oldest first, days without ratings as 0."""
    rows = run(db, "ratings-per-day", sql_root, since=periods.days_since(today, days))
    counts = {periods.as_date(r[0]): int(r[1]) for r in rows}
    return [DayCount(d, n) for d, n in periods.fill(periods.day_window(today, days), counts)]


def distribution(db: Database, since: datetime = periods.ALL_TIME,
                 sql_root: Path | None = None) -> list[StarShare]:
    """5 stars down to 1, each with its count and percentage of all ratings since `since`."""
    rows = run(db, "rating-distribution", sql_root, since=since)
    found = {int(r[0]): (int(r[1]), decimal(r[2])) for r in rows}
    return [StarShare(star, *found.get(star, (0, Decimal("0.00")))) for star in STARS]


def top_rated_sellers(db: Database, min_ratings: int = 3, limit: int = 10,
                      sql_root: Path | None = None) -> list[TopSeller]:
    rows = run(db, "top-rated-sellers", sql_root, min_ratings=int(min_ratings), limit=int(limit))
    return [TopSeller(int(r[0]), str(r[1]), decimal(r[2]), int(r[3]), int(r[4])) for r in rows]


def weekly_activity(db: Database, today: date, weeks: int, sql_root: Path | None = None) -> list[WeekActivity]:
    """Every one of the last `weeks` ISO weeks, oldest first, quiet weeks as 0 ratings."""
    mondays = periods.week_window(today, weeks)
    rows = run(db, "weekly-activity", sql_root, since=periods.midnight(mondays[0]))
    found = {periods.as_date(r[0]): (int(r[1]), decimal(r[2])) for r in rows}
    return [WeekActivity(monday, *found.get(monday, (0, None))) for monday in mondays]


def participation(db: Database, since: datetime = periods.ALL_TIME,
                  sql_root: Path | None = None) -> Participation:
    r = run(db, "participation", sql_root, since=since)[0]
    return Participation(int(r[0]), int(r[1]), decimal(r[2]), int(r[3]), int(r[4]), decimal(r[5]))


def ratings_per_hour(db: Database, now: datetime, hours: int, sql_root: Path | None = None) -> list[int]:
    """Ratings per rolling hour before `now`, index 0 = the last hour, `hours` entries."""
    rows = run(db, "ratings-per-hour", sql_root, now=now, since=now - timedelta(hours=hours))
    return periods.hourly({int(r[0]): int(r[1]) for r in rows}, hours)


def seller_coverage(db: Database, since: datetime, min_ratings: int = 3,
                    sql_root: Path | None = None) -> SellerCoverage:
    r = run(db, "seller-coverage", sql_root, since=since, min_ratings=int(min_ratings))[0]
    return SellerCoverage(int(r[0]), int(r[1]), decimal(r[2]))


def average_rating(shares: list[StarShare]) -> tuple[Decimal | None, int]:
    """(average to 2 places, number of ratings) from a distribution."""
    total = sum(s.ratings for s in shares)
    if not total:
        return None, 0
    exact = Decimal(sum(s.rating * s.ratings for s in shares)) / Decimal(total)
    return exact.quantize(Decimal("0.01"), ROUND_HALF_UP), total


def decimal(value: object) -> Decimal | None:
    """A number from any driver (float, str, Decimal) as a Decimal with 2 places."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)

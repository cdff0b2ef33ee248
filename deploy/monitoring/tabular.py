"""Pure: monitoring results as named tables (columns + rows), and tables as CSV text.

The terminal table, --csv and the HTML report all show the same columns. With several tables
the CSV holds one block per table, each led by a `# name` line and followed by a blank line;
with one table (--only NAME) it is a plain CSV file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from deploy.secrets import mask

if TYPE_CHECKING:   # annotations only: monitor.metrics --help reads NAMES without the database code
    from deploy.monitoring import queries as q
    from deploy.monitoring.criteria import Criterion

NAMES = ("daily", "distribution", "top-sellers", "weekly", "participation")


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def daily(rows: list[q.DayCount], days: int) -> Table:
    return Table("daily", f"Ratings created per day, last {days} days (UTC, newest first)",
                 ("rating_date", "ratings_created"), tuple((r.day, r.ratings) for r in reversed(rows)))


def distribution(rows: list[q.StarShare]) -> Table:
    return Table("distribution", "Rating distribution (all ratings)", ("rating", "count", "percentage"),
                 tuple((r.rating, r.ratings, r.percentage) for r in rows))


def top_sellers(rows: list[q.TopSeller], min_ratings: int) -> Table:
    return Table("top-sellers", f"Top-rated sellers (at least {min_ratings} ratings)",
                 ("seller_id", "seller_name", "seller_rating", "total_ratings", "positive_ratings"),
                 tuple((r.seller_id, r.seller_name, r.seller_rating, r.total_ratings, r.positive_ratings)
                       for r in rows))


def weekly(rows: list[q.WeekActivity], weeks: int) -> Table:
    return Table("weekly", f"Rating activity by ISO week, last {weeks} weeks (newest first)",
                 ("week_start", "iso_week", "ratings", "average_rating"),
                 tuple((r.week_start, iso_week(r.week_start), r.ratings, r.average_rating)
                       for r in reversed(rows)))


def participation(p: q.Participation) -> Table:
    return Table("participation", "Rating participation (all time)",
                 ("users_who_rated", "total_users", "participation_rate", "buyers_with_completed_orders",
                  "buyers_who_rated", "buyer_participation_rate"),
                 ((p.users_who_rated, p.total_users, p.participation_rate, p.buyers_with_completed_orders,
                   p.buyers_who_rated, p.buyer_participation_rate),))


def engagement(e, chosen: list[str], min_ratings: int = 3) -> list[Table]:
    """The metrics task's tables (an Engagement from deploy.monitoring.collect), in NAMES order."""
    built = {"daily": lambda: daily(e.per_day, e.days), "distribution": lambda: distribution(e.distribution),
             "top-sellers": lambda: top_sellers(e.top_sellers, min_ratings), "weekly": lambda: weekly(e.weekly, e.weeks),
             "participation": lambda: participation(e.participation)}
    return [built[name]() for name in NAMES if name in chosen]


def criteria(found: list[Criterion], days: int) -> Table:
    return Table("criteria", f"Success criteria, {days}-day goals", ("criterion", "measured", "target", "result",
                                                                     "detail"),
                 tuple((c.name, c.measured, c.target, c.status, c.detail) for c in found))


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def to_csv(tables: Iterable[Table]) -> str:
    tables = list(tables)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for index, table in enumerate(tables):
        if len(tables) > 1:
            if index:
                buffer.write("\n")
            buffer.write(f"# {table.name}\n")
        writer.writerow(table.columns)
        writer.writerows([cell(v) for v in row] for row in table.rows)
    return mask(buffer.getvalue())

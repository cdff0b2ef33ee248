"""Pure: the time windows the monitoring queries use, and series with their gaps filled.

All times are UTC. "The last N days" are N calendar days ending today (today is partial), so
each bar of a daily chart is a whole day; weeks start on Monday (ISO); "the last hour" is the
rolling 60 minutes before now, which is what an hourly cron job wants.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from statistics import median as _median
from typing import Iterable, Mapping

ALL_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def day_window(today: date, days: int) -> list[date]:
    """The last `days` calendar days, oldest first, ending with today."""
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def days_since(today: date, days: int) -> datetime:
    """Midnight UTC of the first of the last `days` days."""
    return midnight(today - timedelta(days=days - 1))


def week_start(day: date) -> date:
    """The Monday of day's ISO week."""
    return day - timedelta(days=day.weekday())


def week_window(today: date, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` weeks, oldest first, ending with this week's."""
    this_week = week_start(today)
    return [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def fill(keys: Iterable, counts: Mapping, empty=0) -> list[tuple]:
    """(key, counts[key] or empty) for every key, in the order given."""
    return [(key, counts.get(key, empty)) for key in keys]


def hourly(counts: Mapping[int, int], hours: int) -> list[int]:
    """Counts per rolling hour, index 0 = the last hour, missing hours as 0."""
    return [int(counts.get(h, 0)) for h in range(hours)]


def median(values: list[int]) -> float:
    return float(_median(values)) if values else 0.0


def as_date(value: object) -> date:
    """A driver's date (date, datetime or 'YYYY-MM-DD...' text) as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])

"""Pure: the feature flag's rollout percentage over time, from the journal.

Phase 3 journals each change as phase "phase3", action "rollout", details {"percentage": N}.
The journal is shared and long-lived, so events are read defensively: failed ones, ones
without a usable percentage (missing, not a whole number, outside 0..100) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from deploy.db.journal import OK, Event

PHASE, ACTION = "phase3", "rollout"


@dataclass(frozen=True)
class RolloutPoint:
    at: datetime
    percentage: int


def percentage(details: Any) -> int | None:
    if not isinstance(details, dict):
        return None
    value = details.get("percentage")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("%")
        if not value.isdigit():
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not number.is_integer() or not 0 <= number <= 100:
        return None
    return int(number)


def timeline(events: Iterable[Event]) -> list[RolloutPoint]:
    """Successful rollout events as points, oldest first."""
    points = []
    for e in events:
        if e.phase != PHASE or e.action != ACTION or e.outcome != OK:
            continue
        pct = percentage(e.details)
        if pct is not None:
            points.append(RolloutPoint(e.at, pct))
    return sorted(points, key=lambda p: p.at)


def within(points: list[RolloutPoint], start: datetime, end: datetime) -> list[RolloutPoint]:
    """The points inside [start, end], led by the value in force at `start` (if any was set)."""
    before = [p for p in points if p.at < start]
    inside = [p for p in points if start <= p.at <= end]
    lead = [RolloutPoint(start, before[-1].percentage)] if before else []
    return lead + inside

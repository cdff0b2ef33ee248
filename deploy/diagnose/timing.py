"""Time the monitoring and aggregate queries (and the app's own): which one is the slowest?

Timed: sql/<dialect>/verify-aggregates.sql, top-sellers.sql, every monitoring/*.sql (its :names
bound to the values monitor.metrics uses) and the app's queries as explained. Each runs `repeat`
times; the median counts (the first run may pay for a cold cache).
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from deploy.db.connect import Database
from deploy.db.journal import db_time
from deploy.db.scripts import pieces
from deploy.diagnose.model import Timed
from deploy.diagnose.probes import sql_file
from deploy.errors import DeployError
from deploy.monitoring import sqlparams
from deploy.secrets import mask

TOP_SELLERS = 10


def named_values(now: datetime, dialect: str) -> dict[str, Any]:
    """The values for the monitoring files' :names (the last 30 days, at least 3 ratings, top 10)."""
    return {"since": db_time(now - timedelta(days=30), dialect), "now": db_time(now, dialect),
            "min_ratings": 3, "limit": TOP_SELLERS}


def statements(sql_root: Path, dialect: str, now: datetime) -> list[tuple[str, str, list[Any]]]:
    """(name, sql, params) for every file timed; a file that cannot be bound is (name, '', [error])."""
    found: list[tuple[str, str, list[Any]]] = []
    for name, params in (("verify-aggregates.sql", []), ("top-sellers.sql", [TOP_SELLERS])):
        found.append((name, _one(sql_file(sql_root, dialect, name), dialect), params))
    values = named_values(now, dialect)
    for path in sorted((Path(sql_root) / dialect / "monitoring").glob("*.sql")):
        name = f"monitoring/{path.name}"
        try:
            sql, params = sqlparams.bind(_one(path.read_text(encoding="utf-8-sig"), dialect), dialect, values,
                                         source=f"sql/{dialect}/{name}")
        except DeployError as exc:
            found.append((name, "", [str(exc)]))
            continue
        found.append((name, sql, params))
    return found


def _one(text: str, dialect: str) -> str:
    found = pieces(text, dialect)
    return found[0] if len(found) == 1 else text


def time_queries(db: Database, sql_root: Path, repeat: int, extra: dict[str, str] | None = None,
                 now: datetime | None = None) -> list[Timed]:
    """Slowest first; a query that fails is kept with its error (a diagnosis goes on)."""
    now = now or datetime.now(timezone.utc)
    todo = statements(sql_root, db.dialect, now) + [(k, v, []) for k, v in (extra or {}).items()]
    results = [_time_one(db, name, sql, params, repeat) for name, sql, params in todo]
    return sorted(results, key=lambda t: -1 if t.ms is None else t.ms, reverse=True)


def _time_one(db: Database, name: str, sql: str, params: list[Any], repeat: int) -> Timed:
    if not sql:
        return Timed(name, None, error=mask(str(params[0])) if params else "no statement")
    runs, rows = [], 0
    try:
        for _ in range(max(1, repeat)):
            started = time.perf_counter()
            rows = len(db.query(sql, params))
            runs.append((time.perf_counter() - started) * 1000)
    except DeployError as exc:
        return Timed(name, None, error=mask(str(exc)))
    return Timed(name, round(statistics.median(runs), 3), rows)

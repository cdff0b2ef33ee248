"""Migrations against a live database: status, plan, render (--dry-run), apply, rollback.

The SQL comes from the pure builders in deploy.db.history; this module only reads the history
table and runs the pieces in order. A failing piece rolls the whole transaction back, so neither
partial schema nor a history row is left (transactional DDL on SQLite and PostgreSQL; XACT_ABORT
and one explicit transaction on SQL Server).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from deploy.db import history
from deploy.db.connect import Database, QueryFailed, has_table
from deploy.db.migrations import (AppliedRow, Migration, MigrationState, discover, folder_for, pending,
                                  refuse_drift, states, to_roll_back)
from deploy.db.scripts import ROLLBACK, render as render_script
from deploy.errors import StepFailed


@dataclass(frozen=True)
class RunResult:
    """One migration applied or rolled back."""

    version: str
    name: str
    direction: str            # up | down
    seconds: float


def applied_rows(db: Database) -> dict[str, AppliedRow]:
    if not has_table(db, history.TABLE):
        return {}
    rows = db.query(history.SELECT_APPLIED)
    return {str(r[0]).strip(): AppliedRow(str(r[0]).strip(), r[1], str(r[2]).strip(), _utc(r[3]), r[4], r[5])
            for r in rows}


def status(db: Database, sql_root: Path) -> list[MigrationState]:
    """applied / pending / drifted / missing for every migration file and history row.
    T-SQL files with another dialect's syntax are refused here, before any backup or change."""
    found = discover(folder_for(sql_root, db.dialect))
    if db.dialect == "mssql":
        from deploy.db import tsql_guard  # here: its patterns compile on import, only T-SQL files need them

        for m in found:
            tsql_guard.refuse(m.up_sql, f"sql/mssql/migrations/{m.filename}")
            tsql_guard.refuse(m.down_sql, f"sql/mssql/migrations/{m.down_filename}")
    return states(found, applied_rows(db))


def plan(db: Database, sql_root: Path) -> list[Migration]:
    """The pending migrations, oldest first; ConfigError if an applied file has drifted."""
    found = status(db, sql_root)
    refuse_drift(found)
    return pending(found)


def render(db: Database, sql_root: Path, actor: str) -> str:
    """The exact SQL `apply` would run now (empty when nothing is pending)."""
    todo = plan(db, sql_root)
    if not todo:
        return ""
    parts = [history.CREATE[db.dialect]]
    text = render_script(parts, db.dialect)
    for m in todo:
        text += f"\n-- {m.filename}\n" + render_script(history.apply_pieces(m, actor, db.dialect), db.dialect)
    return text


def apply(db: Database, sql_root: Path, actor: str) -> list[RunResult]:
    """Apply every pending migration, each in its own transaction with its history row."""
    todo = plan(db, sql_root)
    if not todo:
        return []
    db.execute(history.CREATE[db.dialect])
    done = []
    for m in todo:
        started = time.monotonic()
        _run(db, history.apply_pieces(m, actor, db.dialect), f"migration {m.filename}")
        done.append(RunResult(m.version, m.name, "up", time.monotonic() - started))
    return done


def rollback_plan(db: Database, sql_root: Path, steps: int = 1) -> list[MigrationState]:
    found = status(db, sql_root)
    refuse_drift(found)
    return to_roll_back(found, steps)


def render_rollback(db: Database, sql_root: Path, steps: int = 1) -> str:
    chosen = rollback_plan(db, sql_root, steps)
    if not chosen:
        return ""
    return render_script(history.rollback_pieces([s.migration for s in chosen], db.dialect), db.dialect)


def rollback(db: Database, sql_root: Path, steps: int = 1) -> list[RunResult]:
    """Run the newest `steps` down files, newest first, in one transaction; remove their rows."""
    chosen = rollback_plan(db, sql_root, steps)
    if not chosen:
        return []
    started = time.monotonic()
    names = ", ".join(s.migration.down_filename for s in chosen)
    _run(db, history.rollback_pieces([s.migration for s in chosen], db.dialect), f"rollback ({names})")
    took = time.monotonic() - started
    return [RunResult(s.version, s.name, "down", took) for s in chosen]


def _run(db: Database, parts: list[str], what: str) -> None:
    """Run BEGIN ... COMMIT pieces; on any failure roll back and say which piece failed."""
    for index, part in enumerate(parts):
        try:
            db.execute(part)
        except QueryFailed as exc:
            _rollback(db)
            first_line = part.strip().splitlines()[0][:120]
            raise StepFailed(f"{what} failed at statement {index} (`{first_line}`): {exc}; "
                             "rolled back, nothing applied") from None
        except BaseException:
            _rollback(db)
            raise


def _rollback(db: Database) -> None:
    try:
        db.execute(ROLLBACK[db.dialect])
    except StepFailed:
        pass


def _utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    text = str(value).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

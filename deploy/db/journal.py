"""The deploy journal: deploy_events in the target database, shared by every operator and CI job.

Gates read it (the soak after phase 2 starts at the last successful api release event), so it is
never a local file. Times are UTC; details are JSON text, masked before they are written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from deploy.db.connect import Database, has_table
from deploy.secrets import mask, mask_data

TABLE = "deploy_events"
OK = "ok"   # the outcome of a successful action; anything else is a failure of some kind
COLUMNS = 'at, environment, phase, action, host, "release", actor, outcome, duration_ms, details'

CREATE = {
    "sqlite": [f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    environment TEXT NOT NULL,
    phase TEXT NOT NULL,
    action TEXT NOT NULL,
    host TEXT NULL,
    "release" TEXT NULL,
    actor TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_ms INTEGER NULL,
    details TEXT NULL
)""", f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_phase_action_at ON {TABLE} (phase, action, at)"],
    "postgres": [f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMP(6) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    phase VARCHAR(100) NOT NULL,
    action VARCHAR(200) NOT NULL,
    host VARCHAR(200) NULL,
    "release" VARCHAR(200) NULL,
    actor VARCHAR(200) NOT NULL,
    outcome VARCHAR(50) NOT NULL,
    duration_ms BIGINT NULL,
    details TEXT NULL
)""", f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_phase_action_at ON {TABLE} (phase, action, at)"],
    "mssql": [f"""IF OBJECT_ID(N'dbo.{TABLE}', N'U') IS NULL
CREATE TABLE dbo.{TABLE} (
    id BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_{TABLE} PRIMARY KEY,
    at DATETIME2(6) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    phase NVARCHAR(100) NOT NULL,
    action NVARCHAR(200) NOT NULL,
    host NVARCHAR(200) NULL,
    "release" NVARCHAR(200) NULL,
    actor NVARCHAR(200) NOT NULL,
    outcome NVARCHAR(50) NOT NULL,
    duration_ms BIGINT NULL,
    details NVARCHAR(MAX) NULL
)""", f"""IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_{TABLE}_phase_action_at')
CREATE INDEX ix_{TABLE}_phase_action_at ON dbo.{TABLE} (phase, action, at)"""],
}


@dataclass(frozen=True)
class Event:
    at: datetime
    environment: str
    phase: str
    action: str
    outcome: str
    actor: str
    host: str | None = None
    release: str | None = None
    duration_ms: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == OK


# -- pure builders ---------------------------------------------------------------------------------
def insert_sql() -> str:
    return f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def select_sql(dialect: str, phase: str | None = None, action: str | None = None,
               outcome: str | None = None, environment: str | None = None,
               since: datetime | None = None, limit: int | None = 50) -> tuple[str, list[Any]]:
    """Newest first; each filter given adds one bound condition."""
    where, params = [], []
    for column, value in (("phase", phase), ("action", action), ("outcome", outcome),
                          ("environment", environment)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append("at >= ?")
        params.append(db_time(since, dialect))
    top = f"TOP ({int(limit)}) " if limit and dialect == "mssql" else ""
    sql = f"SELECT {top}id, {COLUMNS} FROM {TABLE}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY at DESC, id DESC"
    if limit and dialect != "mssql":
        sql += f" LIMIT {int(limit)}"
    return sql, params


def db_time(at: datetime, dialect: str) -> Any:
    """UTC as each driver stores it: ISO text for sqlite, a naive UTC datetime through ODBC."""
    utc = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    if dialect == "sqlite":
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.replace(tzinfo=None)


def from_db_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)


def details_text(details: dict[str, Any] | None) -> str | None:
    if not details:
        return None
    plain = json.loads(json.dumps(details, default=str))
    return mask(json.dumps(mask_data(plain), sort_keys=True))


# -- I/O --------------------------------------------------------------------------------------------
def ensure_table(db: Database) -> None:
    for statement in CREATE[db.dialect]:
        db.execute(statement)


def record(db: Database, *, environment: str, phase: str, action: str, outcome: str, actor: str,
           host: str | None = None, release: str | None = None, duration_ms: int | None = None,
           details: dict[str, Any] | None = None, at: datetime | None = None) -> Event:
    """Append one event (the table is created on first use)."""
    at = at or datetime.now(timezone.utc)
    ensure_table(db)
    text = {k: (mask(v) if isinstance(v, str) else v)
            for k, v in dict(host=host, release=release, actor=actor).items()}
    db.execute(insert_sql(), [db_time(at, db.dialect), environment, phase, action, text["host"],
                              text["release"], text["actor"], outcome, duration_ms, details_text(details)])
    return Event(from_db_time(db_time(at, db.dialect)), environment, phase, action, outcome, text["actor"],
                 text["host"], text["release"], duration_ms,
                 json.loads(details_text(details)) if details else {})


def query(db: Database, *, phase: str | None = None, action: str | None = None,
          outcome: str | None = None, environment: str | None = None,
          since: datetime | None = None, limit: int | None = 50) -> list[Event]:
    """Events newest first, filtered; [] when nothing was ever journalled here."""
    if not has_table(db, TABLE):
        return []
    sql, params = select_sql(db.dialect, phase, action, outcome, environment, since, limit)
    return [_event(row) for row in db.query(sql, params)]


def last_success(db: Database, phase: str, action: str | None = None,
                 environment: str | None = None) -> Event | None:
    """The newest event with outcome ok for a phase (and action): what the soak gates read."""
    found = query(db, phase=phase, action=action, outcome=OK, environment=environment, limit=1)
    return found[0] if found else None


def _event(row: tuple) -> Event:
    (id_, at, environment, phase, action, host, release, actor, outcome, duration_ms, details) = row
    return Event(from_db_time(at), environment, phase, action, outcome, actor, host, release,
                 int(duration_ms) if duration_ms is not None else None,
                 json.loads(details) if details else {}, int(id_))


def replay_missing(db: Database, events: list[Event]) -> int:
    """Insert the events that are not (or no longer) in the table, e.g. after a restore put an
    older copy of it back; returns how many were written again."""
    def key(e: Event) -> tuple:
        return (e.at, e.environment, e.phase, e.action, e.host, e.outcome, e.actor)

    present = {key(e) for e in query(db, limit=None)}
    missing = [e for e in sorted(events, key=lambda e: (e.at, e.id or 0)) if key(e) not in present]
    for e in missing:
        record(db, environment=e.environment, phase=e.phase, action=e.action, outcome=e.outcome,
               actor=e.actor, host=e.host, release=e.release, duration_ms=e.duration_ms,
               details=e.details or None, at=e.at)
    return len(missing)

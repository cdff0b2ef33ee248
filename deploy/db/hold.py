"""A deploy hold: deploys frozen on purpose (an incident, a sale) until someone releases it.

The deploy lock (deploy.db.lock) lives exactly as long as the deploy's database session, so it can
never outlive a command - which is what makes a crashed deploy leave no stale lock, and what makes
it useless for a freeze that must last after `lock.acquire` exits. A hold is therefore durable: a
`deploy_hold` row (environment, holder, message, since) in the target database, the place every
operator and CI job shares. Every mutating task reads it while it holds the session lock and
refuses (exit 3, naming holder and message) when it is there; `lock.acquire` writes it and
`lock.release` deletes it under the same session lock, so a hold can never appear in the middle
of a running deploy, and no deploy can start between the check and its first step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from deploy.db.connect import Database, has_table
from deploy.db.journal import db_time, from_db_time

TABLE = "deploy_hold"

CREATE = {
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    environment TEXT NOT NULL PRIMARY KEY, holder TEXT NOT NULL, message TEXT NOT NULL, since TEXT NOT NULL)""",
    "postgres": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    environment VARCHAR(100) NOT NULL PRIMARY KEY, holder VARCHAR(200) NOT NULL,
    message VARCHAR(1000) NOT NULL, since TIMESTAMP(3) NOT NULL)""",
    "mssql": f"""IF OBJECT_ID(N'dbo.{TABLE}', N'U') IS NULL
CREATE TABLE dbo.{TABLE} (
    environment NVARCHAR(100) NOT NULL CONSTRAINT PK_{TABLE} PRIMARY KEY, holder NVARCHAR(200) NOT NULL,
    message NVARCHAR(1000) NOT NULL, since DATETIME2(3) NOT NULL)""",
}
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class Hold:
    holder: str
    message: str
    since: datetime
    environment: str = ""

    def as_dict(self) -> dict:
        return {"holder": self.holder, "message": self.message, "since": self.since.isoformat(),
                "environment": self.environment}


def describe(hold: Hold, now: datetime | None = None) -> str:
    """"deploys held by alice@ci since 12:03:04Z: incident 4711 (lock.release lifts the hold)"."""
    now = now or datetime.now(timezone.utc)
    fmt = "%H:%M:%SZ" if (now - hold.since).total_seconds() < 86400 else "%Y-%m-%d %H:%M:%SZ"
    return f"deploys held by {hold.holder} since {hold.since.strftime(fmt)}: {hold.message}"


def refusal(hold: Hold, now: datetime | None = None) -> str:
    return f"{describe(hold, now)} (lock.release lifts the hold)"


def current(db: Database, environment: str) -> Hold | None:
    if not has_table(db, TABLE):
        return None
    row = db.query_one(f"SELECT holder, message, since FROM {TABLE} WHERE environment = ?", (environment,))
    return Hold(row[0], row[1], from_db_time(row[2]), environment) if row else None


def put(db: Database, environment: str, holder: str, message: str) -> Hold:
    """Write the hold (call with the session lock held and no hold in place)."""
    db.execute(CREATE[db.dialect])
    since = from_db_time(db_time(datetime.now(timezone.utc), db.dialect))
    with db.transaction():
        db.execute(f"INSERT INTO {TABLE} (environment, holder, message, since) VALUES (?, ?, ?, ?)",
                   (environment, holder, message, db_time(since, db.dialect)))
    return Hold(holder, message, since, environment)


def remove(db: Database, environment: str) -> None:
    with db.transaction():
        db.execute(f"DELETE FROM {TABLE} WHERE environment = ?", (environment,))

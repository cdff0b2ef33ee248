"""Pure: the schema_migrations table and the exact SQL one migration run executes.

Each migration runs as: BEGIN; INSERT its history row (applied_at = now); the migration's own
statements/batches; UPDATE execution_ms from the database clock; COMMIT. The row goes in first so
that a concurrent run of the same migration fails on the primary key before changing anything,
and the duration is measured by the server, so the rendered --dry-run text is the text that runs.
"""

from __future__ import annotations

from deploy.db.migrations import Migration
from deploy.db.scripts import BEGIN, COMMIT, literal, pieces

TABLE = "schema_migrations"

CREATE = {
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    version TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    execution_ms INTEGER NOT NULL DEFAULT 0,
    success INTEGER NOT NULL DEFAULT 1
)""",
    "postgres": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    version VARCHAR(14) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMP(3) NOT NULL,
    applied_by VARCHAR(200) NOT NULL,
    execution_ms INTEGER NOT NULL DEFAULT 0,
    success BOOLEAN NOT NULL DEFAULT TRUE
)""",
    "mssql": f"""IF OBJECT_ID(N'dbo.{TABLE}', N'U') IS NULL
CREATE TABLE dbo.{TABLE} (
    version NVARCHAR(14) NOT NULL CONSTRAINT PK_{TABLE} PRIMARY KEY,
    name NVARCHAR(200) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at DATETIME2(3) NOT NULL,
    applied_by NVARCHAR(200) NOT NULL,
    execution_ms INT NOT NULL CONSTRAINT DF_{TABLE}_execution_ms DEFAULT 0,
    success BIT NOT NULL CONSTRAINT DF_{TABLE}_success DEFAULT 1
)""",
}

NOW = {
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    "postgres": "(now() AT TIME ZONE 'utc')",          # the transaction's start
    "mssql": "SYSUTCDATETIME()",
}

ELAPSED_MS = {
    "sqlite": "CAST(ROUND((julianday('now') - julianday(applied_at)) * 86400000) AS INTEGER)",
    "postgres": "CAST(EXTRACT(EPOCH FROM (clock_timestamp() AT TIME ZONE 'utc') - applied_at) * 1000 AS INTEGER)",
    "mssql": "DATEDIFF(millisecond, applied_at, SYSUTCDATETIME())",
}

SELECT_APPLIED = f"SELECT version, name, checksum, applied_at, applied_by, execution_ms FROM {TABLE} ORDER BY version"


def insert(m: Migration, actor: str, dialect: str) -> str:
    values = ", ".join([literal(m.version, dialect), literal(m.name, dialect), literal(m.checksum, dialect),
                        NOW[dialect], literal(actor, dialect), "0", literal(True, dialect)])
    return (f"INSERT INTO {TABLE} (version, name, checksum, applied_at, applied_by, execution_ms, success) "
            f"VALUES ({values})")


def finish(m: Migration, dialect: str) -> str:
    return f"UPDATE {TABLE} SET execution_ms = {ELAPSED_MS[dialect]} WHERE version = {literal(m.version, dialect)}"


def delete(version: str, dialect: str) -> str:
    return f"DELETE FROM {TABLE} WHERE version = {literal(version, dialect)}"


def apply_pieces(m: Migration, actor: str, dialect: str) -> list[str]:
    """Everything one migration run sends, in order, as one transaction."""
    return [BEGIN[dialect], insert(m, actor, dialect), *pieces(m.up_sql, dialect),
            finish(m, dialect), COMMIT[dialect]]


def rollback_pieces(newest_first: list[Migration], dialect: str) -> list[str]:
    """All down scripts, newest first, and their history rows removed, in one transaction."""
    body: list[str] = []
    for m in newest_first:
        body += [*pieces(m.down_sql, dialect), delete(m.version, dialect)]
    return [BEGIN[dialect], *body, COMMIT[dialect]]

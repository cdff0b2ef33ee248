"""The few places where SQLite, PostgreSQL and SQL Server disagree.

All queries quote identifiers with double quotes, which the three accept (SQL Server with
QUOTED_IDENTIFIER ON, the ODBC drivers' default), and use qmark parameters, which both sqlite3
and pyodbc take. What is left differs per dialect and lives here.
"""

from __future__ import annotations

import re


class Dialect:
    name = "base"
    utc_now = "CURRENT_TIMESTAMP"

    def page(self, limit: int, offset: int) -> tuple[str, tuple[int, int]]:
        return " LIMIT ? OFFSET ?", (limit, offset)

    def insert_returning_id(self, table: str, columns: list[str], values_sql: str) -> str:
        cols = ", ".join(f'"{c}"' for c in columns)
        return f'INSERT INTO "{table}" ({cols}) VALUES ({values_sql}) RETURNING "Id"'

    def lock_row(self, table: str) -> str:
        """Select one row by Id so that concurrent writers to the same seller queue up."""
        return f'SELECT "Id" FROM "{table}" WHERE "Id" = ?'

    def split_script(self, text: str) -> list[str]:
        # Our own schema files end every statement with ';' at the end of a line, so a
        # line-based split is enough and needs no SQL lexer.
        statements, current = [], []
        for line in text.splitlines():
            if line.strip().startswith("--") and not current:
                continue
            current.append(line)
            if line.rstrip().endswith(";"):
                statements.append("\n".join(current).strip().rstrip(";"))
                current = []
        tail = "\n".join(current).strip()
        if tail:
            statements.append(tail)
        return [s for s in statements if s]


class SqliteDialect(Dialect):
    name = "sqlite"
    # Same text format as SQLite's CURRENT_TIMESTAMP (UTC, second precision).
    utc_now = "CURRENT_TIMESTAMP"

    def lock_row(self, table: str) -> str:
        # BEGIN IMMEDIATE already serialises writers on SQLite.
        return super().lock_row(table)


class PostgresDialect(Dialect):
    name = "postgres"
    utc_now = "(NOW() AT TIME ZONE 'UTC')"

    def lock_row(self, table: str) -> str:
        return super().lock_row(table) + " FOR UPDATE"


class MssqlDialect(Dialect):
    name = "mssql"
    utc_now = "SYSUTCDATETIME()"
    _go = re.compile(r"^\s*GO\s*;?\s*$", re.IGNORECASE)

    def page(self, limit: int, offset: int) -> tuple[str, tuple[int, int]]:
        # Needs an ORDER BY before it, which every paged query here has.
        return " OFFSET ? ROWS FETCH NEXT ? ROWS ONLY", (offset, limit)

    def insert_returning_id(self, table: str, columns: list[str], values_sql: str) -> str:
        cols = ", ".join(f'"{c}"' for c in columns)
        return f'INSERT INTO "{table}" ({cols}) OUTPUT INSERTED."Id" VALUES ({values_sql})'

    def lock_row(self, table: str) -> str:
        return f'SELECT "Id" FROM "{table}" WITH (UPDLOCK, ROWLOCK) WHERE "Id" = ?'

    def split_script(self, text: str) -> list[str]:
        batches, current = [], []
        for line in text.splitlines():
            if self._go.match(line):
                batches.append("\n".join(current).strip())
                current = []
            else:
                current.append(line)
        batches.append("\n".join(current).strip())
        return [b for b in batches if b and not all(l.strip().startswith("--") or not l.strip() for l in b.splitlines())]


DIALECTS = {d.name: d for d in (SqliteDialect(), PostgresDialect(), MssqlDialect())}

"""Batched inserts that stay fast on every dialect.

sqlite3: executemany is already a tight C loop. SQL Server: pyodbc's fast_executemany sends
parameter arrays in one round trip. PostgreSQL's psqlodbc has no parameter arrays, so
fast_executemany stays off and rows go as multi-row VALUES lists instead, which turns a
round trip per row into one per few hundred rows.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .db import Database

# psqlodbc loses sync with the server once a statement has ~8000 parameters (its reply
# describing them outgrows a buffer), far below PostgreSQL's own 65535; stay well under.
PG_MAX_PARAMS = 4000


def insert_rows(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence],
                batch_size: int = 5000, identity_insert: bool = False) -> int:
    """Insert rows in batches, one transaction per batch; return the number inserted."""
    total = 0
    batch: list[Sequence] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            total += _flush(db, table, columns, batch, identity_insert)
            batch = []
    if batch:
        total += _flush(db, table, columns, batch, identity_insert)
    return total


def _flush(db: Database, table: str, columns: Sequence[str], batch: list[Sequence], identity_insert: bool) -> int:
    cols = ", ".join(f'"{c}"' for c in columns)
    one_row = "(" + ", ".join("?" for _ in columns) + ")"
    with db.session(write=True) as s:
        cursor = s._cursor
        if db.dialect.name == "postgres":
            cursor.fast_executemany = False
            per_statement = max(1, PG_MAX_PARAMS // len(columns))
            for start in range(0, len(batch), per_statement):
                chunk = batch[start:start + per_statement]
                values = ", ".join([one_row] * len(chunk))
                cursor.execute(f'INSERT INTO "{table}" ({cols}) VALUES {values}',
                               [v for row in chunk for v in row])
        else:
            if db.dialect.name == "mssql":
                cursor.fast_executemany = True
                if identity_insert:
                    cursor.execute(f'SET IDENTITY_INSERT "{table}" ON')
            cursor.executemany(f'INSERT INTO "{table}" ({cols}) VALUES {one_row}', batch)
            if db.dialect.name == "mssql" and identity_insert:
                cursor.execute(f'SET IDENTITY_INSERT "{table}" OFF')
    return len(batch)


def sync_identity(db: Database, table: str) -> None:
    """After explicit Ids, move the identity on so the app's own inserts do not collide."""
    if db.dialect.name == "postgres":
        with db.session(write=True) as s:
            s.one(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'Id'), "
                  f'(SELECT COALESCE(MAX("Id"), 1) FROM "{table}"))')
    # SQLite AUTOINCREMENT and SQL Server IDENTITY already follow the largest explicit Id.

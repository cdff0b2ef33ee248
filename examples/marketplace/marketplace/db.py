"""Connections and transactions for sqlite3 and pyodbc behind one small interface.

pyodbc is imported only for ODBC targets so a SQLite deployment needs nothing beyond the
standard library. Each request gets its own session; ODBC connections are pooled because
opening one costs a network round trip or three, SQLite ones are not because opening a file
is cheap and a pooled handle would pin a thread.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence
from urllib.parse import quote

from .dburl import DatabaseTarget
from .dialects import DIALECTS, Dialect

SCHEMA_OK, SCHEMA_MISSING, UNREACHABLE = "ok", "schema-missing", "unreachable"
IDLE_CHECK_SECONDS = 10

# Selecting zero rows from every column the rating endpoints use proves the migration ran,
# in any dialect, without reading catalog tables.
_RATING_SCHEMA_PROBES = (
    'SELECT "Id", "SellerId", "RaterId", "Rating", "Comment", "CreatedAt", "UpdatedAt" FROM "SellerRatings" WHERE 1 = 0',
    'SELECT "SellerRating", "TotalRatings", "PositiveRatings" FROM "Users" WHERE 1 = 0',
)
_BASE_SCHEMA_PROBES = (
    'SELECT "Id", "FullName", "Email" FROM "Users" WHERE 1 = 0',
    'SELECT "Id", "BuyerId", "SellerId", "Status" FROM "Orders" WHERE 1 = 0',
)


class Unreachable(Exception):
    """The database could not be opened (down, wrong credentials, missing file)."""


class Session:
    """A cursor inside one transaction, with the handful of fetch shapes the app needs."""

    def __init__(self, cursor, dialect: Dialect):
        self._cursor = cursor
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cursor.execute(sql, tuple(params))
        return self._cursor.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        self._cursor.execute(sql, tuple(params))
        row = self._cursor.fetchone()
        # Drain so pyodbc (SQL Server especially) is ready for the next statement.
        if row is not None:
            self._cursor.fetchall()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._cursor.execute(sql, tuple(params))
        return [tuple(r) for r in self._cursor.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None


class Database:
    def __init__(self, target: DatabaseTarget, pool_size: int = 8, login_timeout: int = 5):
        self.target = target
        self.dialect = DIALECTS[target.dialect]
        self._pool: queue.LifoQueue = queue.LifoQueue(maxsize=pool_size)
        self._login_timeout = login_timeout
        self._ratings_ready = False
        self._ready_lock = threading.Lock()
        if target.odbc:
            import pyodbc  # noqa: F401  (fail at start, not on the first request)

            self._pyodbc = pyodbc
            self.errors: tuple[type[BaseException], ...] = (pyodbc.Error,)
            self.integrity_errors: tuple[type[BaseException], ...] = (pyodbc.IntegrityError,)
        else:
            self._pyodbc = None
            self.errors = (sqlite3.Error,)
            self.integrity_errors = (sqlite3.IntegrityError,)

    # -- connections -------------------------------------------------------------------
    def _open(self):
        try:
            if self._pyodbc is None:
                # mode=rw: a missing file is "unreachable", never silently created empty.
                conn = sqlite3.connect(
                    f"file:{quote(self.target.sqlite_path)}?mode=rw", uri=True, timeout=15,
                    isolation_level=None, check_same_thread=False,
                )
                conn.execute("PRAGMA foreign_keys = ON")
                return conn
            return self._pyodbc.connect(self.target.odbc, autocommit=False, timeout=self._login_timeout)
        except self.errors as exc:
            raise Unreachable(_first_line(exc)) from None

    def _checkout(self):
        while self._pyodbc is not None:
            try:
                conn, idle_since = self._pool.get_nowait()
            except queue.Empty:
                break
            # A connection idle for a while may have been cut (database restarted or
            # restored, a firewall timeout); test it rather than fail a user's request.
            if time.monotonic() - idle_since < IDLE_CHECK_SECONDS or self._alive(conn):
                return conn, True
            self._discard(conn)
        return self._open(), False

    def _alive(self, conn) -> bool:
        try:
            conn.cursor().execute("SELECT 1").fetchall()
            conn.rollback()
            return True
        except self.errors:
            return False

    def _discard(self, conn) -> None:
        try:
            conn.close()
        except self.errors:
            pass

    def _checkin(self, conn, healthy: bool) -> None:
        if self._pyodbc is not None and healthy:
            try:
                self._pool.put_nowait((conn, time.monotonic()))
                return
            except queue.Full:
                pass
        self._discard(conn)

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """One transaction; commits on success, rolls back on any exception."""
        conn, pooled = self._checkout()
        healthy = True
        try:
            cursor = conn.cursor()
            if self._pyodbc is None:
                # IMMEDIATE takes the write lock up front, so two writers never deadlock
                # upgrading a shared lock; plain BEGIN gives reads one consistent snapshot.
                cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Session(cursor, self.dialect)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        except self.errors:
            # A failed statement (a constraint, a missing table) leaves the connection
            # usable; a dead connection does not. Only the pool needs to tell them apart.
            healthy = self._pyodbc is not None and self._alive(conn)
            if pooled and not healthy:
                # When one pooled connection has died the server likely restarted and took
                # its siblings too: drop them all so the next session starts fresh.
                self.close()
            raise
        finally:
            self._checkin(conn, healthy)

    def close(self) -> None:
        while True:
            try:
                self._discard(self._pool.get_nowait()[0])
            except queue.Empty:
                return

    # -- schema ------------------------------------------------------------------------
    def _probe(self, probes: Sequence[str]) -> bool:
        try:
            with self.session() as s:
                for sql in probes:
                    s.all(sql)
            return True
        except self.errors:
            return False

    def status(self) -> str:
        """ok | schema-missing | unreachable, for /health."""
        for attempt in (1, 2):
            try:
                with self.session() as s:
                    s.all("SELECT 1")
                break
            except Unreachable:
                return UNREACHABLE
            except self.errors:
                # A pooled connection that died is discarded by session(); try a fresh one.
                if attempt == 2:
                    return UNREACHABLE
        if not self._probe(_BASE_SCHEMA_PROBES):
            return SCHEMA_MISSING
        return SCHEMA_OK if self.ratings_ready(refresh=True) else SCHEMA_MISSING

    def ratings_ready(self, refresh: bool = False) -> bool:
        # Once the migration is there it stays; callers pass refresh=True after a query
        # failed, which is how a rolled-back migration (table dropped) is noticed.
        if self._ratings_ready and not refresh:
            return True
        ready = self._probe(_RATING_SCHEMA_PROBES)
        with self._ready_lock:
            self._ratings_ready = ready
        return ready

    def run_script(self, text: str) -> int:
        statements = self.dialect.split_script(text)
        with self.session(write=True) as s:
            for sql in statements:
                s.execute(sql)
        return len(statements)


def create_sqlite_file(path: str) -> None:
    """SQLite's 'create the database' step, for sample --create-schema and tests."""
    sqlite3.connect(path).close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__

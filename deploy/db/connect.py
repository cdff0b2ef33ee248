"""One DB-API path for three dialects: mssql and postgres through pyodbc, sqlite through sqlite3.

The connection runs in autocommit mode; `Database.transaction()` issues BEGIN/COMMIT/ROLLBACK as
SQL text, so what --dry-run prints is what runs, and statements that refuse a transaction
(SQL Server BACKUP, CREATE DATABASE) simply run outside one. Every driver error is re-raised as
`QueryFailed` with secrets masked; a database that cannot be reached is
`StepFailed("database unreachable: ...")`.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from deploy.config.environment import DatabaseConfig
from deploy.db import odbc
from deploy.db.scripts import BEGIN, COMMIT, ROLLBACK
from deploy.db.scripts import pieces as script_pieces
from deploy.errors import ConfigError, StepFailed
from deploy.secrets import mask, register, reveal

DIALECTS = ("sqlite", "postgres", "mssql")

# The SSH-tunnel hook: given the database's (host, port), open a forward through
# DatabaseConfig.tunnel_via and return the local (host, port) to use instead.
Tunnel = Callable[[str, int], tuple[str, int]]


class QueryFailed(StepFailed):
    """A statement failed; the message is the driver's, masked, with the dialect."""

    def __init__(self, message: str, sql: str = ""):
        super().__init__(message)
        self.sql = sql


class Database:
    """A connection plus the few helpers the rest of deploy.db uses."""

    def __init__(self, conn: Any, dialect: str, name: str, query_timeout: float | None = None,
                 path: Path | None = None):
        self.conn = conn
        self.dialect = dialect
        self.name = name                # display name: database name or sqlite file
        self.path = path                # sqlite: the database file
        self.query_timeout = query_timeout
        self._depth = 0

    # -- statements ------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (mssql: one batch, every result set drained); rows affected or -1."""
        _, count = self._run(sql, params, fetch=False)
        return count

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of the first result set, as tuples."""
        rows, _ = self._run(sql, params, fetch=True)
        return rows

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.query_one(sql, params)
        return row[0] if row else None

    def script(self, text: str) -> None:
        """Run a script: T-SQL split on GO lines, the others on top-level semicolons."""
        for piece in self.pieces(text):
            self.execute(piece)

    def pieces(self, text: str) -> list[str]:
        return script_pieces(text, self.dialect)

    def _run(self, sql: str, params: Sequence[Any], fetch: bool) -> tuple[list[tuple], int]:
        if self.dialect == "mssql":     # nothing here can run it on SQL Server first: refuse known mistakes
            from deploy.db import tsql_guard  # here: its 30 patterns compile on import, only T-SQL needs them

            tsql_guard.refuse(sql, "T-SQL (not sent)")
        cur = self.conn.cursor()
        self._arm_timeout()
        try:
            cur.execute(sql, tuple(params))
            if fetch:   # T-SQL: SET/DECLARE/EXEC before the SELECT may come first without rows
                while cur.description is None and self.dialect != "sqlite" and cur.nextset():
                    pass
            rows = [tuple(r) for r in cur.fetchall()] if fetch and cur.description else []
            count = cur.rowcount if cur.rowcount is not None else -1
            if self.dialect != "sqlite":
                count = self._drain(cur, count)
            return rows, count
        except Exception as exc:
            if _is_driver_error(exc):
                raise QueryFailed(f"{self.dialect}: {describe(exc)}", sql) from None
            raise
        finally:
            self._disarm_timeout()
            cur.close()

    @staticmethod
    def _drain(cur: Any, count: int) -> int:
        """Read every remaining result set: SQL Server reports errors of later statements there."""
        total = count
        while cur.nextset():
            if cur.rowcount is not None and cur.rowcount >= 0:
                total = max(total, 0) + cur.rowcount
        return total

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator["Database"]:
        """BEGIN ... COMMIT, or ROLLBACK on any exception; nested use joins the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.execute(BEGIN[self.dialect])
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._rollback_quietly()
            raise
        self._depth = 0
        self.execute(COMMIT[self.dialect])

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _rollback_quietly(self) -> None:
        try:
            self.execute(ROLLBACK[self.dialect])
        except StepFailed:
            pass  # the connection may be gone; the server rolls back on its own then

    # -- misc ---------------------------------------------------------------------------------------
    def server_version(self) -> str:
        if self.dialect == "sqlite":
            return sqlite3.sqlite_version
        if self.dialect == "postgres":
            return str(self.scalar("SHOW server_version"))
        return str(self.scalar("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))"))

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # sqlite has no server-side timeout: a progress handler interrupts a statement past its deadline
    def _arm_timeout(self) -> None:
        if self.dialect == "sqlite" and self.query_timeout:
            deadline = time.monotonic() + self.query_timeout
            self.conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)

    def _disarm_timeout(self) -> None:
        if self.dialect == "sqlite" and self.query_timeout:
            self.conn.set_progress_handler(None, 0)


# -- connecting --------------------------------------------------------------------------------------
def connect(db: DatabaseConfig, root: Path, tunnel: Tunnel | None = None) -> Database:
    """Open the configured database; sqlite paths are relative to root."""
    if db.dialect not in DIALECTS:
        raise ConfigError(f"unknown database dialect {db.dialect!r} (use {', '.join(DIALECTS)})")
    if db.dialect == "sqlite":
        return _connect_sqlite(db, root)
    text = reveal(db.odbc)
    _register_secrets(text)
    if db.tunnel_via:
        if tunnel is None:
            raise ConfigError(f"database.tunnel_via: {db.tunnel_via!r} is set but no SSH tunnel was "
                              "opened (the caller passes one to connect())")
        host, port = tunnel(*odbc.server_address(text, db.dialect))
        text = odbc.with_server(text, db.dialect, host, port)
    return _connect_odbc(db, text)


def sqlite_path(db: DatabaseConfig, root: Path) -> Path:
    path = Path(db.path).expanduser()
    return path if path.is_absolute() else Path(root) / path


def _connect_sqlite(db: DatabaseConfig, root: Path) -> Database:
    path = sqlite_path(db, root)
    if not path.is_file():
        # never create it: a typo in database.path must not deploy into a new, empty database
        raise StepFailed(f"database unreachable: {path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=db.connect_timeout,
                               isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
    except (OSError, sqlite3.Error) as exc:
        raise StepFailed(f"database unreachable: {path}: {mask(str(exc))}") from None
    return Database(conn, "sqlite", path.name, db.query_timeout or None, path=path)


def _connect_odbc(db: DatabaseConfig, text: str) -> Database:
    try:
        import pyodbc
    except ImportError:  # pragma: no cover - pyodbc is a dependency
        raise ConfigError("pyodbc is not installed (pip install pyodbc)") from None
    try:
        conn = pyodbc.connect(text, autocommit=True, timeout=max(1, int(db.connect_timeout)))
    except pyodbc.Error as exc:
        raise StepFailed(f"database unreachable: {describe(exc)}") from None
    name = db.name or odbc.first(odbc.parse(text), "DATABASE", default=db.dialect)
    database = Database(conn, db.dialect, name, db.query_timeout or None)
    try:
        if db.dialect == "postgres":
            # psqlODBC has no query-timeout attribute; the server enforces this one
            database.execute(f"SET statement_timeout = {int((db.query_timeout or 0) * 1000)}")
        elif db.query_timeout:
            conn.timeout = max(1, int(db.query_timeout))
    except Exception:
        database.close()
        raise
    return database


def _register_secrets(text: str) -> None:
    register(text)
    pw = odbc.password(text)
    if pw:
        register(pw)


def describe(exc: BaseException) -> str:
    """A driver error as one masked line, without the ODBC decoration."""
    args = getattr(exc, "args", ())
    message = args[1] if len(args) > 1 and isinstance(args[1], str) else str(exc)
    message = message.replace("\n", " ").replace("\t", " ")
    for noise in ("(SQLDriverConnect)", "(SQLExecDirectW)", "(SQLExecute)", "(SQLMoreResults)"):
        message = message.replace(noise, "")
    return mask(" ".join(message.split()))


def _is_driver_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    try:
        import pyodbc
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, pyodbc.Error)


def has_table(db: Database, table: str) -> bool:
    """Whether a table exists (in the current schema), without creating anything."""
    if db.dialect == "sqlite":
        return db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)) > 0
    if db.dialect == "postgres":
        return db.scalar("SELECT to_regclass(?)::text", (f'"{table}"',)) is not None
    return db.scalar("SELECT OBJECT_ID(?, N'U')", (f"dbo.{table}",)) is not None

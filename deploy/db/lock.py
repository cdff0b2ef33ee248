"""The deploy lock, held by the task's own database session so a crash leaves none behind.

mssql: sp_getapplock with @LockOwner = 'Session'; postgres: pg_try_advisory_lock on a connection
kept for the whole task; sqlite: an exclusive flock on a file beside the database. The kernel or
the server drops each of these when the process dies, even by SIGKILL. A deploy_lock row names
the holder so a refusal can say who; it is informational and overwritten by the next holder.

A hold (deploy.db.hold: deploys frozen on purpose by `lock.acquire`) is read here, under the
session lock, so every mutating task refuses while one is in place.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from deploy.config.environment import DatabaseConfig
from deploy.db import hold as deploy_hold
from deploy.db.connect import Database, Tunnel, connect, sqlite_path
from deploy.db.journal import db_time, from_db_time
from deploy.db.scripts import literal
from deploy.errors import LockHeld

TABLE = "deploy_lock"
POLL_SECONDS = 0.25

CREATE = {
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    environment TEXT NOT NULL PRIMARY KEY, holder TEXT NOT NULL, task TEXT NOT NULL, since TEXT NOT NULL)""",
    "postgres": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    environment VARCHAR(100) NOT NULL PRIMARY KEY, holder VARCHAR(200) NOT NULL,
    task VARCHAR(200) NOT NULL, since TIMESTAMP(3) NOT NULL)""",
    "mssql": f"""IF OBJECT_ID(N'dbo.{TABLE}', N'U') IS NULL
CREATE TABLE dbo.{TABLE} (
    environment NVARCHAR(100) NOT NULL CONSTRAINT PK_{TABLE} PRIMARY KEY, holder NVARCHAR(200) NOT NULL,
    task NVARCHAR(200) NOT NULL, since DATETIME2(3) NOT NULL)""",
}


@dataclass(frozen=True)
class Holder:
    holder: str
    task: str
    since: datetime
    environment: str = ""


# -- pure builders ---------------------------------------------------------------------------------
def resource(environment: str) -> str:
    return f"marketplace-deploy:{environment or 'default'}"


def advisory_key(environment: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    digest = hashlib.sha256(resource(environment).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def mssql_acquire_sql(environment: str, timeout_ms: int = 0) -> str:
    """T-SQL: take the session-owned app lock; SELECTs sp_getapplock's status (>= 0: granted)."""
    return (
        "SET NOCOUNT ON;\n"
        "DECLARE @result int;\n"
        f"EXEC @result = sp_getapplock @Resource = {literal(resource(environment), 'mssql')}, "
        f"@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = {int(timeout_ms)};\n"
        "SELECT @result AS result;"
    )


def mssql_release_sql(environment: str) -> str:
    return (f"EXEC sp_releaseapplock @Resource = {literal(resource(environment), 'mssql')}, "
            "@LockOwner = 'Session';")


def pg_lock_held_sql() -> str:
    """PostgreSQL: is the advisory lock granted to some session now? (pg_locks splits the 64-bit
    key into classid = high 32 bits, objid = low 32 bits, objsubid = 1.) Reads, takes nothing."""
    return ("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1")


def pg_lock_key_parts(environment: str) -> tuple[int, int]:
    unsigned = advisory_key(environment) & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def mssql_lock_held_sql(environment: str) -> str:
    """T-SQL: APPLOCK_TEST is 0 when another session holds the lock. Reads, takes nothing."""
    return (f"SELECT CASE WHEN APPLOCK_TEST('public', {literal(resource(environment), 'mssql')}, "
            "'Exclusive', 'Session') = 1 THEN 0 ELSE 1 END")


def describe(holder: Holder | None, now: datetime | None = None) -> str:
    """'locked by alice@ci since 12:03:04Z (task deploy.phase1)'."""
    if holder is None:
        return "locked by another deploy session (it has not written its holder row)"
    now = now or datetime.now(timezone.utc)
    fmt = "%H:%M:%SZ" if (now - holder.since).total_seconds() < 86400 else "%Y-%m-%d %H:%M:%SZ"
    return f"locked by {holder.holder} since {holder.since.strftime(fmt)} (task {holder.task})"


# -- I/O --------------------------------------------------------------------------------------------
@contextmanager
def acquire(db_config: DatabaseConfig, root: Path, holder: str, task: str, wait_seconds: float = 0,
            environment: str = "", tunnel: Tunnel | None = None,
            on_wait: Callable[[str], None] | None = None, respect_hold: bool = True) -> Iterator[Holder]:
    """Hold the deploy lock for the with-block; LockHeld (exit 3) naming the holder otherwise.

    on_wait, when given, is told once (with describe()'s text) that the lock is held and this
    session is waiting for it, so a waiting task says why it is not moving.
    With a hold in place (lock.acquire) LockHeld names its holder and message at once: --lock-wait
    waits for a running deploy, not for a freeze. `respect_hold=False` is for lock.* themselves.
    """
    if db_config.dialect == "sqlite":
        locker = _sqlite_lock
    else:
        locker = _session_lock
    with locker(db_config, root, environment, wait_seconds, tunnel, on_wait) as db:
        if respect_hold:
            held = deploy_hold.current(db, environment)
            if held is not None:
                raise LockHeld(deploy_hold.refusal(held))
        me = Holder(holder, task, from_db_time(db_time(datetime.now(timezone.utc), db.dialect)), environment)
        _write_row(db, me)
        try:
            yield me
        finally:
            _clear_row(db, environment)


def current_holder(db: Database, environment: str = "") -> Holder | None:
    from deploy.db.connect import has_table

    if not has_table(db, TABLE):
        return None
    row = db.query_one(f"SELECT holder, task, since FROM {TABLE} WHERE environment = ?", (environment,))
    return Holder(row[0], row[1], from_db_time(row[2]), environment) if row else None


def in_use(db_config: DatabaseConfig, root: Path, db: Database, environment: str = "") -> bool:
    """Whether a deploy session holds the lock right now (a deploy_lock row may be stale after a
    kill; the lock itself never is). PostgreSQL and SQL Server are asked without taking anything;
    SQLite tries a shared flock for an instant, which a deploy starting in that instant would see
    as held (it exits 3 and can be run again)."""
    if db_config.dialect == "sqlite":
        lock_path = sqlite_path(db_config, root).with_name(sqlite_path(db_config, root).name + ".deploy.lock")
        if not lock_path.exists():
            return False
        fd = os.open(lock_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
    if db_config.dialect == "postgres":
        return int(db.scalar(pg_lock_held_sql(), pg_lock_key_parts(environment))) > 0
    return int(db.scalar(mssql_lock_held_sql(environment))) == 1


@contextmanager
def _sqlite_lock(db_config, root, environment, wait_seconds, tunnel, on_wait) -> Iterator[Database]:
    lock_path = sqlite_path(db_config, root).with_name(sqlite_path(db_config, root).name + ".deploy.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _until(lambda: _try_flock(fd), wait_seconds, lambda: _refusal(db_config, root, environment, tunnel),
               on_wait)
        db = connect(db_config, root)
        try:
            yield db
        finally:
            db.close()
    finally:
        os.close(fd)  # closing the descriptor releases the flock (as the kernel does on SIGKILL)


@contextmanager
def _session_lock(db_config, root, environment, wait_seconds, tunnel, on_wait) -> Iterator[Database]:
    db = connect(db_config, root, tunnel)   # dedicated: the lock lives exactly as long as this session
    try:
        if db.dialect == "postgres":
            key = advisory_key(environment)
            _until(lambda: db.scalar("SELECT CASE WHEN pg_try_advisory_lock(?) THEN 1 ELSE 0 END", (key,)) == 1,
                   wait_seconds, lambda: _refusal(db_config, root, environment, tunnel), on_wait)
            try:
                yield db
            finally:
                _quietly(db, "SELECT pg_advisory_unlock(?)", (key,))
        else:
            _until(lambda: int(db.scalar(mssql_acquire_sql(environment))) >= 0,
                   wait_seconds, lambda: _refusal(db_config, root, environment, tunnel), on_wait)
            try:
                yield db
            finally:
                _quietly(db, mssql_release_sql(environment))
    finally:
        db.close()


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _until(attempt, wait_seconds: float, refuse, on_wait=None) -> None:
    deadline = time.monotonic() + max(0.0, wait_seconds)
    told = False
    while not attempt():
        if time.monotonic() >= deadline:
            raise LockHeld(refuse())
        if on_wait is not None and not told:
            on_wait(refuse())
            told = True
        time.sleep(POLL_SECONDS)


def _refusal(db_config, root, environment, tunnel) -> str:
    try:
        db = connect(db_config, root, tunnel)
    except Exception:
        return describe(None)
    try:
        return describe(current_holder(db, environment))
    except Exception:
        return describe(None)
    finally:
        db.close()


def _write_row(db: Database, me: Holder) -> None:
    db.execute(CREATE[db.dialect])
    with db.transaction():
        db.execute(f"DELETE FROM {TABLE} WHERE environment = ?", (me.environment,))
        db.execute(f"INSERT INTO {TABLE} (environment, holder, task, since) VALUES (?, ?, ?, ?)",
                   (me.environment, me.holder, me.task, db_time(me.since, db.dialect)))


def _clear_row(db: Database, environment: str) -> None:
    # informational only; if this fails the next holder overwrites the row
    _quietly(db, f"DELETE FROM {TABLE} WHERE environment = ?", (environment,))


def _quietly(db: Database, sql: str, params: tuple = ()) -> None:
    """Release steps must not hide the task's own error; closing the session releases anyway."""
    try:
        db.execute(sql, params)
    except Exception:
        pass

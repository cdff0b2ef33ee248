"""Pure parts of the deploy lock's status and the hold: key split, read-only SQL, messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlglot

from deploy.db import hold
from deploy.db import lock
from deploy.cli.tasks.lock import describe_state


def test_pg_key_parts_recombine_to_the_advisory_key():
    for environment in ("production", "staging", "t", ""):
        high, low = lock.pg_lock_key_parts(environment)
        assert 0 <= high < 2 ** 32 and 0 <= low < 2 ** 32
        combined = (high << 32) | low
        signed = combined - 2 ** 64 if combined >= 2 ** 63 else combined
        assert signed == lock.advisory_key(environment)


def test_lock_status_sql_only_reads():
    pg = lock.pg_lock_held_sql()
    assert "pg_locks" in pg and "pg_try_advisory_lock" not in pg and pg.count("?") == 2
    sqlglot.parse_one(pg.replace("?", "1"), read="postgres")
    tsql = lock.mssql_lock_held_sql("production")
    assert "APPLOCK_TEST('public', N'marketplace-deploy:production', 'Exclusive', 'Session')" in tsql
    assert "sp_getapplock" not in tsql
    sqlglot.parse_one(tsql, read="tsql")


def test_hold_messages_name_who_and_why():
    now = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc)
    held = hold.Hold("alice@ci", "incident 4711", now - timedelta(minutes=5), "production")
    assert hold.refusal(held, now) == ("deploys held by alice@ci since 12:25:00Z: incident 4711 "
                                       "(lock.release lifts the hold)")
    old = hold.Hold("alice@ci", "sale", now - timedelta(days=2))
    assert hold.describe(old, now) == "deploys held by alice@ci since 2026-11-29 12:30:00Z: sale"


def test_hold_tables_for_every_dialect():
    assert set(hold.CREATE) == {"sqlite", "postgres", "mssql"}
    for dialect, sql in hold.CREATE.items():
        assert "deploy_hold" in sql and "message" in sql and "PRIMARY KEY" in sql


def test_status_lines():
    assert describe_state({"hold": None, "deploy": None}) == ["free: no hold, no deploy running"]
    state = {"hold": {"holder": "a", "message": "m", "since": "2026-12-01T12:00:00.5+00:00"},
             "deploy": {"holder": None, "task": None, "since": None}}
    assert describe_state(state) == ["held by a since 2026-12-01 12:00:00Z: m (lock.release lifts it)",
                                     "in use by a deploy session since ? (task ?)"]

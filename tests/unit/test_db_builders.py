"""Pure builders and parsers of deploy.db: ODBC strings, backup commands, journal SQL, lock text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from deploy.db import backup_commands as bc
from deploy.db import journal, lock, odbc
from deploy.db.scripts import literal

PG = "DRIVER={PostgreSQL Unicode};Server=db.internal;Port=5433;Database=market;UID=deployer;PWD={p;w}}d};"


def test_odbc_parse_and_postgres_params():
    assert odbc.parse(PG)["PWD"] == "p;w}d"
    assert odbc.postgres_params(PG) == {"host": "db.internal", "port": "5433", "dbname": "market",
                                        "user": "deployer", "password": "p;w}d"}
    assert odbc.password("Driver={ODBC Driver 18 for SQL Server};Server=tcp:h,1433;Pwd=x") == "x"


def test_server_address_and_tunnel_rewrite():
    ms = "DRIVER={ODBC Driver 18 for SQL Server};Server=tcp:sql.internal,1433;Database=M;UID=u;PWD=p;Encrypt=yes"
    assert odbc.server_address(ms, "mssql") == ("sql.internal", 1433)
    assert odbc.server_address(PG, "postgres") == ("db.internal", 5433)
    assert odbc.with_server(ms, "mssql", "127.0.0.1", 41433) == (
        "DRIVER={ODBC Driver 18 for SQL Server};DATABASE=M;UID=u;PWD=p;ENCRYPT=yes;Server=tcp:127.0.0.1,41433;")
    moved = odbc.with_server(PG, "postgres", "127.0.0.1", 45432)
    assert odbc.postgres_params(moved)["host"] == "127.0.0.1" and odbc.parse(moved)["PWD"] == "p;w}d"
    tds = "DRIVER={FreeTDS};Server=sql.internal;Port=1433;TDS_Version=7.4"
    assert odbc.driver_kind(tds) == "freetds" and odbc.driver_kind(ms) == "msodbc"
    assert odbc.with_server(tds, "mssql", "127.0.0.1", 9) == "DRIVER={FreeTDS};TDS_VERSION=7.4;Server=127.0.0.1;Port=9;"


def test_pg_dump_command_keeps_the_password_out_of_argv():
    params = odbc.postgres_params(PG)
    command = bc.pg_dump(params, "/tmp/x/pgpass", "/backups/m.dump", "/usr/lib/postgresql/15/bin")
    assert command.render() == (
        "umask 077 && env PGPASSFILE=/tmp/x/pgpass PGCONNECT_TIMEOUT=15 /usr/lib/postgresql/15/bin/pg_dump --format=custom "
        "--host db.internal --port 5433 --username deployer --dbname market --no-password --file /backups/m.dump")
    assert "p;w" not in command.render()
    assert str(bc.pg_verify("/backups/m.dump")) == "pg_restore --file /dev/null /backups/m.dump"
    assert bc.private_file("/tmp/.pgpass-1").render() == "sh -c 'umask 077 && : > \"$1\"' sh /tmp/.pgpass-1"
    assert "--single-transaction" in bc.pg_restore(params, "/p", "/b.dump").render()


def test_passfile_line_escapes():
    params = {"host": "h", "port": "5432", "dbname": "d", "user": "u", "password": r"a:b\c"}
    assert bc.passfile_line(params) == "h:5432:d:u:a\\:b\\\\c\n"


def test_backup_ids_names_and_pruning():
    at = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    bid = bc.backup_id(at)
    assert bid == "20240102T030405678Z"
    name = bc.file_name("market db", "postgres", bid)
    assert name == "market_db-20240102T030405678Z.dump"
    assert bc.id_of(name, "market db", "postgres") == bid
    assert bc.id_of(name + ".failed", "market db", "postgres") is None
    assert bc.id_of("other-20240102T030405678Z.dump", "market db", "postgres") is None
    ids = ["20240101T000000000Z", "20240103T000000000Z", "20240102T000000000Z"]
    assert bc.to_prune(ids, 2) == ["20240101T000000000Z"]
    assert bc.to_prune(ids, 0) == ["20240102T000000000Z", "20240101T000000000Z"]   # the newest always stays
    assert bc.parse_sha256sum("a" * 64 + "  /x.dump\n") == "a" * 64
    with pytest.raises(ValueError):
        bc.parse_sha256sum("sha256sum: /x: No such file")


def test_journal_select_sql_per_dialect():
    since = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    sql, params = journal.select_sql("sqlite", phase="phase2", since=since, limit=5)
    assert sql.endswith('FROM deploy_events WHERE phase = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT 5')
    assert params == ["phase2", "2024-01-01T12:00:00.000000Z"]
    sql, params = journal.select_sql("postgres", limit=None)
    assert "LIMIT" not in sql and params == []
    assert journal.db_time(since, "postgres") == datetime(2024, 1, 1, 12)
    assert journal.from_db_time("2024-01-01T12:00:00.000000Z") == since
    assert journal.from_db_time(datetime(2024, 1, 1, 12)) == since


def test_journal_details_are_masked():
    from deploy.secrets import Secret

    Secret("tok-123456-secret")
    assert journal.details_text({"msg": "tok-123456-secret leaked"}) == '{"msg": "*** leaked"}'
    assert journal.details_text({}) is None


def test_lock_refusal_text():
    since = datetime(2024, 1, 1, 12, 3, 4, tzinfo=timezone.utc)
    holder = lock.Holder("alice@ci", "deploy.phase1", since)
    assert lock.describe(holder, now=since + timedelta(minutes=5)) == \
        "locked by alice@ci since 12:03:04Z (task deploy.phase1)"
    assert lock.describe(holder, now=since + timedelta(days=2)) == \
        "locked by alice@ci since 2024-01-01 12:03:04Z (task deploy.phase1)"
    assert "holder row" in lock.describe(None)
    assert lock.advisory_key("staging") == lock.advisory_key("staging") != lock.advisory_key("production")
    assert -(2 ** 63) <= lock.advisory_key("staging") < 2 ** 63


def test_literals():
    assert literal("it's", "postgres") == "'it''s'" and literal("x", "mssql") == "N'x'"
    assert literal(True, "postgres") == "TRUE" and literal(True, "sqlite") == "1" and literal(None, "x") == "NULL"

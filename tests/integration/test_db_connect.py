"""Connections on real SQLite and PostgreSQL: reachability, masking, transactions, timeouts."""

from __future__ import annotations

import sqlite3

import pytest

from deploy.config.environment import DatabaseConfig
from deploy.db.connect import QueryFailed, connect
from deploy.errors import ConfigError, StepFailed
from deploy.secrets import Secret
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


def test_unreachable_postgres_is_a_masked_step_failure(postgres, tmp_path):
    bad_port = postgres.odbc.replace(f"Port={postgres.port}", f"Port={free_port()}")
    config = DatabaseConfig(dialect="postgres", odbc=Secret(bad_port), connect_timeout=3)
    with pytest.raises(StepFailed) as err:
        connect(config, tmp_path)
    assert str(err.value).startswith("database unreachable: ") and err.value.exit_code == 1
    assert postgres.password not in str(err.value) and "PWD=" not in str(err.value)


def test_wrong_password_is_unreachable_and_masked(postgres, tmp_path):
    wrong = postgres.odbc.replace(postgres.password, "Wr0ng-Passw0rd")
    with pytest.raises(StepFailed, match="database unreachable: .*password authentication failed") as err:
        connect(DatabaseConfig(dialect="postgres", odbc=wrong), tmp_path)
    assert "Wr0ng-Passw0rd" not in str(err.value)


def test_tunnel_via_needs_the_tunnel_hook(postgres, tmp_path):
    config = DatabaseConfig(dialect="postgres", odbc=Secret(postgres.odbc), tunnel_via="bastion")
    with pytest.raises(ConfigError, match="tunnel_via"):
        connect(config, tmp_path)
    seen = []

    def tunnel(host, port):              # stands in for the lead's SSH forward
        seen.append((host, port))
        return "127.0.0.1", postgres.port

    with connect(config, tmp_path, tunnel=tunnel) as db:
        assert db.scalar("SELECT 1") == 1
    assert seen == [("127.0.0.1", postgres.port)]


def test_transactions_commit_and_roll_back(db_target):
    config, root = db_target
    with connect(config, root) as db:
        assert db.server_version()
        with db.transaction():
            db.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (?, ?)', ("a", "a@x"))
        with pytest.raises(QueryFailed, match=f"{config.dialect}: .*"):
            with db.transaction():
                db.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (?, ?)', ("b", "b@x"))
                db.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (?, ?)', ("dup", "a@x"))
        assert db.query('SELECT "FullName" FROM "Users"') == [("a",)]
        assert not db.in_transaction


def test_query_timeout(db_target):
    config, root = db_target
    config = config.model_copy(update={"query_timeout": 1})
    slow = ("SELECT pg_sleep(3)" if config.dialect == "postgres" else
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c")
    with connect(config, root) as db:
        with pytest.raises(QueryFailed, match="cancel|interrupt"):
            db.query(slow)
        assert db.scalar("SELECT 1") == 1    # the connection is still usable


def test_sqlite_path_is_relative_to_root(tmp_path):
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "app.db").close()
    config = DatabaseConfig(dialect="sqlite", path="data/app.db")
    with connect(config, tmp_path) as db:
        db.execute("CREATE TABLE t (a INTEGER)")
    assert sqlite3.connect(tmp_path / "data" / "app.db").execute("SELECT COUNT(*) FROM t").fetchone() == (0,)


def test_a_missing_sqlite_file_is_never_created(tmp_path):
    config = DatabaseConfig(dialect="sqlite", path="data/typo.db")
    with pytest.raises(StepFailed, match="does not exist"):
        connect(config, tmp_path)
    assert not (tmp_path / "data").exists()

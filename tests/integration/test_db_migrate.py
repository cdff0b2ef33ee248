"""Migrations on real SQLite and PostgreSQL: apply, status, rollback, failure, drift."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploy.db import migrate
from deploy.db.connect import connect, has_table
from deploy.db.migrations import APPLIED, DRIFTED, PENDING
from deploy.errors import ConfigError, StepFailed
from tests.support.postgres import SQL_ROOT

pytestmark = pytest.mark.integration


def columns(db, table):
    if db.dialect == "sqlite":
        return [r[1] for r in db.query(f'PRAGMA table_info("{table}")')]
    return [r[0] for r in db.query("SELECT column_name FROM information_schema.columns "
                                   "WHERE table_schema = current_schema() AND table_name = ? "
                                   "ORDER BY ordinal_position", (table,))]


def copy_sql(tmp_path: Path, dialect: str) -> Path:
    root = tmp_path / "sqlroot"
    shutil.copytree(SQL_ROOT / dialect, root / dialect)
    return root


def test_apply_status_rollback(db_target):
    config, root = db_target
    with connect(config, root) as db:
        assert [s.state for s in migrate.status(db, SQL_ROOT)] == [PENDING]
        assert "INSERT INTO schema_migrations" in migrate.render(db, SQL_ROOT, "alice@ci")
        done = migrate.apply(db, SQL_ROOT, "alice@ci")
        assert [(d.version, d.direction) for d in done] == [("20240101000000", "up")]
        state = migrate.status(db, SQL_ROOT)
        assert [s.state for s in state] == [APPLIED]
        assert state[0].applied.applied_by == "alice@ci"
        assert state[0].applied.execution_ms >= 0 and state[0].applied.applied_at is not None
        assert has_table(db, "SellerRatings")
        assert {"SellerRating", "TotalRatings", "PositiveRatings"} <= set(columns(db, "Users"))
        assert migrate.apply(db, SQL_ROOT, "alice@ci") == []      # nothing pending: a no-op
        assert migrate.render(db, SQL_ROOT, "alice@ci") == ""

        undone = migrate.rollback(db, SQL_ROOT, steps=1)
        assert [u.direction for u in undone] == ["down"]
        assert not has_table(db, "SellerRatings")
        assert columns(db, "Users") == ["Id", "FullName", "Email", "CreatedAt"]
        assert [s.state for s in migrate.status(db, SQL_ROOT)] == [PENDING]
        assert migrate.apply(db, SQL_ROOT, "bob")                   # and forward again
        assert [s.state for s in migrate.status(db, SQL_ROOT)] == [APPLIED]


def test_a_migration_failing_half_way_leaves_nothing(db_target, tmp_path):
    config, root = db_target
    sql_root = copy_sql(tmp_path, config.dialect)
    folder = sql_root / config.dialect / "migrations"
    (folder / "20240202000000_half_way.sql").write_text(
        'CREATE TABLE "Halfway" ("Id" INTEGER NOT NULL);\n'
        'ALTER TABLE "Users" ADD COLUMN "Nickname" VARCHAR(50) NULL;\n'
        'INSERT INTO "NoSuchTable" ("Id") VALUES (1);\n')
    (folder / "20240202000000_half_way.down.sql").write_text('DROP TABLE "Halfway";\n')
    with connect(config, root) as db:
        with pytest.raises(StepFailed) as err:
            migrate.apply(db, sql_root, "alice")
        assert "20240202000000_half_way.sql" in str(err.value) and "NoSuchTable" in str(err.value)
        # the first migration committed on its own; the failing one left no table, column or row
        states = {s.version: s.state for s in migrate.status(db, sql_root)}
        assert states == {"20240101000000": APPLIED, "20240202000000": PENDING}
        assert not has_table(db, "Halfway")
        assert "Nickname" not in columns(db, "Users")
        assert db.scalar("SELECT COUNT(*) FROM schema_migrations WHERE version = '20240202000000'") == 0


def test_a_changed_applied_file_is_refused_before_anything_runs(db_target, tmp_path):
    config, root = db_target
    sql_root = copy_sql(tmp_path, config.dialect)
    folder = sql_root / config.dialect / "migrations"
    with connect(config, root) as db:
        migrate.apply(db, sql_root, "alice")
        # a CRLF checkout and a BOM are not drift
        first = folder / "20240101000000_add_seller_ratings.sql"
        first.write_bytes(b"\xef\xbb\xbf" + first.read_bytes().replace(b"\n", b"\r\n"))
        assert [s.state for s in migrate.status(db, sql_root)] == [APPLIED]
        # an edit is
        first.write_text(first.read_text(encoding="utf-8-sig") + "\n-- edited afterwards\n")
        (folder / "20240303000000_more.sql").write_text('CREATE TABLE "More" ("Id" INTEGER);\n')
        (folder / "20240303000000_more.down.sql").write_text('DROP TABLE "More";\n')
        assert [s.state for s in migrate.status(db, sql_root)] == [DRIFTED, PENDING]
        with pytest.raises(ConfigError) as err:
            migrate.apply(db, sql_root, "alice")
        message = str(err.value)
        assert "20240101000000_add_seller_ratings.sql changed after it was applied" in message
        assert message.count("checksum") == 2 or "file now" in message
        assert not has_table(db, "More")
        with pytest.raises(ConfigError):
            migrate.rollback(db, sql_root)


def test_rendered_dry_run_is_what_apply_runs(db_target, tmp_path):
    """Running the --dry-run text by hand gives the same history as apply()."""
    config, root = db_target
    with connect(config, root) as db:
        text = migrate.render(db, SQL_ROOT, "carol")
        db.script(text)
        assert [s.state for s in migrate.status(db, SQL_ROOT)] == [APPLIED]
        assert migrate.status(db, SQL_ROOT)[0].applied.applied_by == "carol"

"""Phase 1, phase 4, rollback.database and db.* as a user or CI job runs them: the real `invoke`
against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import invoke_fork
from tests.support.envs import APP_ENV, REPO, make_root
from tests.support.lock_barrier import LockHolder, Waiter

STANDIN = REPO / "examples" / "marketplace"


def load_sample(url: str) -> None:
    """The stand-in's own loader: the app's pre-existing schema (Users, Orders), 40 users, 120 orders."""
    seed = subprocess.run([sys.executable, "-m", "marketplace.sample", "--database-url", url, "--users", "40",
                           "--orders", "120", "--create-schema"], cwd=STANDIN, capture_output=True, text=True,
                          timeout=120)
    assert seed.returncode == 0, seed.stderr


@pytest.fixture(scope="session")
def sqlite_marketplace(tmp_path_factory) -> Path:
    """A SQLite marketplace loaded once per session (per xdist worker); each test gets a copy."""
    db_file = tmp_path_factory.mktemp("marketplace") / "market.db"
    load_sample(f"sqlite:///{db_file}")
    return db_file


@pytest.fixture(params=["sqlite", "postgres"])
def project(request, tmp_path):
    """A project root whose `t` environment points at a fresh marketplace database with users
    and orders (the app's pre-existing schema), before any migration: a database of its own,
    copied from one that marketplace.sample loaded once per session and dialect (SQLite's backup
    API; PostgreSQL's CREATE DATABASE ... TEMPLATE)."""
    extra_env: dict[str, str] = {}
    if request.param == "sqlite":
        db_file = tmp_path / "market.db"
        source, copy = sqlite3.connect(request.getfixturevalue("sqlite_marketplace")), sqlite3.connect(db_file)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        database = {"dialect": "sqlite", "path": str(db_file), "backups": {"dir": str(tmp_path / "backups")}}
        url = f"sqlite:///{db_file}"
    else:
        cluster = request.getfixturevalue("postgres")
        url = cluster.fresh_database("tasks", template=cluster.template_database("tasks_marketplace", load_sample))
        extra_env["PG_ODBC"] = url
        database = {"dialect": "postgres", "odbc": "${PG_ODBC}", "backups": {"dir": str(tmp_path / "backups")}}
    root = make_root(tmp_path / "project", "t", {
        "secrets": ["PG_ODBC"] if "PG_ODBC" in extra_env else [],
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": database,
        "env": dict(APP_ENV),
    })
    return Project(root, request.param, url, extra_env)


class Project:
    def __init__(self, root: Path, dialect: str, url: str, extra_env: dict[str, str]):
        self.root, self.dialect, self.url, self.extra_env = root, dialect, url, extra_env

    def invoke(self, *args: str, timeout: float = 120, wait: bool = True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update({"DEPLOY_ROOT": str(self.root), "CI": "true", **self.extra_env})
        argv = [sys.executable, "-m", "invoke", *args]
        if not wait:
            return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, stdin=subprocess.DEVNULL)
        proc = invoke_fork.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        for secret in [APP_ENV["JWT_SECRET"], "s3cret-pg-pass"]:
            assert secret not in proc.stdout + proc.stderr
        return proc

    def json(self, *args: str) -> tuple[int, dict]:
        proc = self.invoke(*args, "--env", "t", "--json")
        return proc.returncode, json.loads(proc.stdout)

    def sql(self, statement: str) -> list[tuple]:
        if self.dialect == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(statement).fetchall()
        import pyodbc
        conn = pyodbc.connect(self.url, autocommit=True)
        try:
            cur = conn.execute(statement)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
        finally:
            conn.close()

    def tables(self) -> set[str]:
        if self.dialect == "sqlite":
            return {r[0] for r in self.sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {r[0] for r in self.sql("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = 'public'")}

    def backups(self) -> list[Path]:
        folder = self.root.parent / "backups"
        return sorted(folder.iterdir()) if folder.is_dir() else []

    def add_rating(self, seller: int = 2, rater: int = 3, rating: int = 5) -> None:
        now = "CURRENT_TIMESTAMP"
        self.sql(f'INSERT INTO "SellerRatings" ("SellerId", "RaterId", "Rating", "CreatedAt", "UpdatedAt") '
                 f"VALUES ({seller}, {rater}, {rating}, {now}, {now})")


def test_phase1_applies_then_a_rerun_changes_nothing(project):
    code, doc = project.json("deploy.phase1")
    assert code == 0, doc
    assert [m["name"] for m in doc["applied"]] == ["add_seller_ratings"]
    assert doc["backup"]["verified"] is True and Path(doc["backup"]["path"]).is_file()
    assert "SellerRatings" in project.tables()

    code, doc = project.json("deploy.phase1")
    assert code == 0 and doc["nothing_pending"] is True and doc["applied"] == []
    assert len(project.backups()) == 1          # nothing pending: not even a backup

    code, doc = project.json("status")
    assert [m["state"] for m in doc["database"]["migrations"]] == ["applied"]
    assert doc["database"]["events"][0]["phase"] == "phase1"

    code, doc = project.json("deploy.history")
    actions = [(e["phase"], e["action"], e["outcome"]) for e in doc["events"]]
    assert ("phase1", "finish", "ok") in actions and ("phase1", "backup", "ok") in actions
    assert ("phase1", "migrate", "ok") in actions and ("phase1", "verify-schema", "ok") in actions


def test_dry_run_prints_the_exact_sql_and_changes_nothing(project):
    proc = project.invoke("deploy.phase1", "--env", "t", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert 'CREATE TABLE "SellerRatings"' in proc.stdout
    assert "INSERT INTO schema_migrations" in proc.stdout
    assert "SellerRatings" not in project.tables() and "schema_migrations" not in project.tables()
    assert project.backups() == []
    code, doc = project.json("db.status")
    assert doc["counts"] == {"applied": 0, "pending": 1, "drifted": 0, "missing": 0}


def test_a_second_deploy_exits_3_naming_the_holder_or_waits(project):
    # the holder keeps the lock until released, however long the CLI takes to start
    with LockHolder(project.root, project.extra_env) as holder:
        # without --lock-wait it does not wait: the lock stays held, so waiting would never end
        proc = project.invoke("deploy.phase1", "--env", "t")
        assert proc.returncode == 3, proc.stderr
        assert "alice@laptop" in proc.stderr and "deploy.phase2" in proc.stderr
        assert "waiting up to" not in proc.stderr
        assert "SellerRatings" not in project.tables()

        waiter = Waiter(project.root, "deploy.phase1", "--env", "t", "--lock-wait", "120",
                        extra_env=project.extra_env)
        try:
            line = waiter.wait_for("waiting up to 120s")     # it reached the lock and found it held
            assert "locked by alice@laptop since" in line and "(task deploy.phase2)" in line
            # still waiting, with nothing done, while the lock stays held
            assert waiter.still_running_after(3), waiter.finish().stdout
            assert "SellerRatings" not in project.tables()
            holder.release()
            proc = waiter.finish()
        finally:
            waiter.kill()
    assert proc.returncode == 0, proc.stderr
    assert "SellerRatings" in project.tables()


def test_a_killed_deploy_leaves_no_lock(project):
    with LockHolder(project.root, project.extra_env) as holder:
        holder.proc.send_signal(signal.SIGKILL)
        holder.proc.wait()
        proc = project.invoke("deploy.phase1", "--env", "t")
    assert proc.returncode == 0, proc.stderr


def test_rollback_database_refuses_with_ratings_and_needs_a_reason_to_force(project):
    assert project.json("deploy.phase1")[0] == 0
    project.add_rating()
    code, doc = project.json("rollback.database")
    assert code == 1 and "holds 1 rating(s)" in doc["error"]
    assert "SellerRatings" in project.tables()
    proc = project.invoke("rollback.database", "--env", "t", "--force")
    assert proc.returncode == 2 and "--force needs --reason" in proc.stderr

    code, doc = project.json("rollback.database", "--force", "--reason", "bad index; ticket 42")
    assert code == 0, doc
    assert doc["ratings_lost"] == 1 and Path(doc["backup"]["path"]).is_file()
    assert "SellerRatings" not in project.tables()
    code, doc = project.json("db.status")
    assert doc["counts"]["pending"] == 1 and doc["counts"]["applied"] == 0


def test_rollback_database_on_an_empty_table_takes_a_backup_first(project):
    assert project.json("deploy.phase1")[0] == 0
    proc = project.invoke("rollback.database", "--env", "t", "--dry-run")
    assert proc.returncode == 0 and "DROP TABLE" in proc.stdout
    assert "SellerRatings" in project.tables()
    code, doc = project.json("rollback.database")
    assert code == 0, doc
    assert len(project.backups()) == 2                  # phase 1's and the rollback's own
    assert "SellerRatings" not in project.tables()


def test_a_drifted_migration_is_refused_naming_file_and_checksums(project):
    assert project.json("deploy.phase1")[0] == 0
    migration = project.root / "sql" / project.dialect / "migrations" / "20240101000000_add_seller_ratings.sql"
    migration.write_text(migration.read_text() + "\n-- edited after it was applied\n")
    proc = project.invoke("deploy.phase1", "--env", "t")
    assert proc.returncode == 2
    assert "20240101000000_add_seller_ratings.sql" in proc.stderr
    assert "applied checksum" in proc.stderr and "file now" in proc.stderr


@pytest.mark.parametrize("name, expected", [
    ("20240102_bad.sql", "20240102_bad.sql"),
    ("20240301000000_no_down_file.sql", "down"),
])
def test_bad_migration_files_are_exit_2_and_nothing_changes(project, name, expected):
    folder = project.root / "sql" / project.dialect / "migrations"
    (folder / name).write_text("SELECT 1;\n")
    proc = project.invoke("deploy.phase1", "--env", "t")
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "SellerRatings" not in project.tables() and project.backups() == []


@pytest.mark.long
def test_phase4_backfills_and_proves_zero_discrepancies(project):
    assert project.json("deploy.phase1")[0] == 0
    for rater, rating in ((3, 5), (4, 2), (5, 4)):
        project.add_rating(seller=2, rater=rater, rating=rating)   # aggregates left stale on purpose
    code, doc = project.json("deploy.phase4", "--dry-run")
    assert code == 0 and "TotalRatings" in doc["sql"]
    assert project.sql('SELECT "TotalRatings" FROM "Users" WHERE "Id" = 2') == [(0,)]

    code, doc = project.json("deploy.phase4")
    assert code == 0, doc
    assert doc["discrepancies"] == 0
    top = doc["top_sellers"]
    assert top[0]["id"] == 2 and top[0]["total_ratings"] == 3
    row = project.sql('SELECT "TotalRatings", "PositiveRatings" FROM "Users" WHERE "Id" = 2')
    assert row == [(3, 2)]
    assert project.json("deploy.phase4")[0] == 0                 # idempotent


@pytest.mark.long
def test_restore_is_guarded_and_restores_the_backup(project):
    assert project.json("deploy.phase1")[0] == 0
    code, doc = project.json("db.backup")
    assert code == 0
    backup_id = doc["backup"]["id"]
    project.add_rating()
    proc = project.invoke("db.restore", "--env", "t", "--backup", backup_id)
    assert proc.returncode == 2 and "--confirm" in proc.stderr
    proc = project.invoke("db.restore", "--env", "t", "--backup", "19990101T000000000Z", "--confirm")
    assert proc.returncode == 2 and "unknown backup id" in proc.stderr
    assert project.sql('SELECT COUNT(*) FROM "SellerRatings"') == [(1,)]

    # --dry-run: the plan (no --confirm needed), nothing changes, not even a restore-point backup
    backups = project.backups()
    code, doc = project.json("db.restore", "--backup", backup_id, "--dry-run")
    assert code == 0 and doc["dry_run"] is True and doc["backup"]["id"] == backup_id, doc
    restore_step = next(s for s in doc["steps"] if s.startswith("restore"))
    assert doc["backup"]["path"] in restore_step
    assert ("psql --single-transaction" in restore_step) == (project.dialect == "postgres")
    assert "s3cret" not in json.dumps(doc) and "PWD=" not in json.dumps(doc).upper()
    assert project.sql('SELECT COUNT(*) FROM "SellerRatings"') == [(1,)] and project.backups() == backups

    code, doc = project.json("db.restore", "--backup", backup_id, "--confirm")
    assert code == 0, doc
    assert project.sql('SELECT COUNT(*) FROM "SellerRatings"') == [(0,)]
    assert Path(doc["restore_point"]["path"]).is_file()


def test_db_verify_reports_a_dropped_index_precisely(project):
    assert project.json("deploy.phase1")[0] == 0
    assert project.json("db.verify")[0] == 0
    project.sql('DROP INDEX "IX_SellerRatings_RaterId"')
    code, doc = project.json("db.verify")
    assert code == 1
    assert any("SellerRatings" in d and "RaterId" in d for d in doc["differences"]), doc


def test_an_unreachable_database_is_exit_1_with_no_password_shown(tmp_path, postgres):
    odbc = postgres.odbc_for("nowhere").replace(f"Port={postgres.port}", "Port=1")
    root = make_root(tmp_path / "p", "t", {
        "hosts": [{"name": "box", "transport": "local"}],
        "database": {"dialect": "postgres", "odbc": "${PG_ODBC}", "connect_timeout": 3},
        "secrets": ["PG_ODBC"],
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", "PG_ODBC": odbc})
    proc = invoke_fork.run([sys.executable, "-m", "invoke", "deploy.phase1", "--env", "t"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "database unreachable" in proc.stderr
    assert postgres.password not in proc.stderr + proc.stdout


def rewrite_environment(project, **extra) -> None:
    import yaml
    file = project.root / "environments" / "t.yaml"
    data = yaml.safe_load(file.read_text())
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    file.write_text(yaml.safe_dump(data))


def test_restore_keeps_the_backup_it_reads_and_the_journal_since(project):
    rewrite_environment(project, database={"backups": {"dir": str(project.root.parent / "backups"), "keep": 2}})
    assert project.json("deploy.phase1")[0] == 0
    oldest = project.backups()[0].name
    code, doc = project.json("db.backup")
    assert code == 0
    project.add_rating()
    events_before = len(project.json("deploy.history", "--limit", "500")[1]["events"])
    backup_id = project.json("db.backups")[1]["backups"][-1]["id"]      # the oldest, next to be pruned
    assert backup_id in oldest
    code, doc = project.json("db.restore", "--backup", backup_id, "--confirm")
    assert code == 0, doc
    assert "SellerRatings" not in project.tables()       # phase 1's backup: before the migration
    assert project.json("db.status")[1]["counts"]["pending"] == 1
    events = project.json("deploy.history", "--limit", "500")[1]["events"]
    assert len(events) > events_before                       # nothing written before the restore is lost
    assert ("restore", "finish", "ok") in [(e["phase"], e["action"], e["outcome"]) for e in events]


def test_phase1_that_fails_after_migrating_says_so_and_a_rerun_completes_it(project):
    app = project.root / "app"
    app.mkdir()
    rewrite_environment(
        project,
        apps={"api": {"process": "marketplace-api", "role": "api", "source": str(app), "start": "true",
                      "port": 3999}},
        hooks={"post_migrate": [{"run": "test -f client-generated", "where": "local", "app": "api"}]})
    proc = project.invoke("deploy.phase1", "--env", "t")
    assert proc.returncode == 1
    assert "the migrations stay applied" in proc.stderr and "re-run deploy.phase1" in proc.stderr
    assert "SellerRatings" in project.tables()

    (app / "client-generated").write_text("")
    code, doc = project.json("deploy.phase1")
    assert code == 0, doc
    assert doc["applied"] == [] and doc["hooks"] == [{"run": "test -f client-generated", "where": "local",
                                                      "hosts": ["local"], "ok": True}]
    code, doc = project.json("deploy.phase1")
    assert code == 0 and doc["nothing_pending"] is True


def test_nothing_pending_while_another_deploy_runs_is_exit_3_not_done(project):
    assert project.json("deploy.phase1")[0] == 0
    with LockHolder(project.root, project.extra_env):
        proc = project.invoke("deploy.phase1", "--env", "t")
        assert proc.returncode == 3 and "alice@laptop" in proc.stderr


@pytest.mark.parametrize("args, expected", [
    (("deploy.history", "--limit", "abc"), "--limit: 'abc' is not a whole number"),
    (("deploy.phase1", "--lock-wait", "soon"), "--lock-wait: 'soon' is not a number of seconds (or 90s, 5m, 1h30m)"),
    (("rollback.database", "--steps", "0"), "--steps must be at least 1"),
])
def test_bad_flag_values_are_one_line_exit_2(project, args, expected):
    proc = project.invoke(*args, "--env", "t")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {expected}"]

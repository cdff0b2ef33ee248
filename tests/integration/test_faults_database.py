"""Database faults in the middle of a phase, on a real PostgreSQL through the real `invoke`:
the deploy SIGKILLed while a migration statement runs, and the server dropping the deploy's
session (pg_terminate_backend) during phase 1's migration and phase 4's backfill (issue 14).

The kill point is made certain, not timed: the test holds a table lock that the phase's own
statement waits for (the migration's ALTER TABLE "Users" needs ACCESS EXCLUSIVE; the backfill's
UPDATE "Users" needs ROW EXCLUSIVE), and acts once pg_stat_activity shows that statement waiting.
pg_dump (the verified backup before each change) only needs ACCESS SHARE, which both locks allow.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.integration.test_database_tasks import Project, load_sample
from tests.support.envs import APP_ENV, make_root

MIGRATION = "20240101000000_add_seller_ratings"


@pytest.fixture
def project(tmp_path, postgres):
    """A project on a fresh PostgreSQL database with the marketplace's users and orders (a copy of
    the template test_database_tasks loads once per cluster)."""
    url = postgres.fresh_database("faults", template=postgres.template_database("tasks_marketplace", load_sample))
    root = make_root(tmp_path / "project", "t", {
        "secrets": ["PG_ODBC"],
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": {"dialect": "postgres", "odbc": "${PG_ODBC}", "backups": {"dir": str(tmp_path / "backups")}},
        "env": dict(APP_ENV),
    })
    return Project(root, "postgres", url, {"PG_ODBC": url})


class TableLock:
    """`LOCK TABLE "Users" IN <mode> MODE` in an open transaction of the test's own session,
    held until the with-block ends."""

    def __init__(self, project: Project, mode: str):
        self.project, self.mode = project, mode

    def __enter__(self) -> "TableLock":
        import pyodbc

        self.conn = pyodbc.connect(self.project.url, autocommit=False)
        self.conn.execute(f'LOCK TABLE "Users" IN {self.mode} MODE')
        self.pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.close()


def blocked_statement(project: Project, proc: subprocess.Popen, held: TableLock) -> tuple[int, str]:
    """The deploy's backend waiting for the test's lock: (pid, its statement)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        rows = project.sql("SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                           f"AND wait_event_type = 'Lock' AND {held.pid} = ANY(pg_blocking_pids(pid))")
        if rows:
            return int(rows[0][0]), str(rows[0][1])
        if proc.poll() is not None:
            raise AssertionError(f"the deploy ended before it reached the held lock: {proc.communicate()}")
        time.sleep(0.2)
    raise AssertionError("the deploy never waited for the held lock")


def wait_backend_gone(project: Project, pid: int) -> None:
    """The server ends a session whose client died once the session next talks to it."""
    deadline = time.monotonic() + 60
    while project.sql(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}"):
        assert time.monotonic() < deadline, f"backend {pid} still there"
        time.sleep(0.2)


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    out, err = proc.communicate(timeout=180)
    return out, err


def terminate(project: Project, pid: int) -> None:
    """What a DBA's pg_terminate_backend, a failover or a proxy's idle cut does to a session."""
    [(done,)] = project.sql(f"SELECT CASE WHEN pg_terminate_backend({pid}) THEN 1 ELSE 0 END")
    assert int(done) == 1


def lock_is_free(project: Project, row_cleared: bool = True) -> None:
    """No session holds the advisory deploy lock; the informational holder row is cleared by a
    deploy that ended (a SIGKILLed one leaves it: the next holder overwrites it)."""
    assert project.sql("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
    if row_cleared:
        assert project.sql("SELECT COUNT(*) FROM deploy_lock") == [(0,)]


def nothing_migrated(project: Project) -> None:
    assert "SellerRatings" not in project.tables()
    columns = {r[0] for r in project.sql("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'Users'")}
    assert not columns & {"SellerRating", "TotalRatings", "PositiveRatings"}, columns
    if "schema_migrations" in project.tables():
        assert project.sql("SELECT COUNT(*) FROM schema_migrations") == [(0,)]


def events(project: Project, phase: str) -> list[tuple[str, str, dict]]:
    rows = project.sql("SELECT action, outcome, details FROM deploy_events WHERE phase = "
                       f"'{phase}' ORDER BY id")
    return [(a, o, json.loads(d) if d else {}) for a, o, d in rows]


def test_phase1_sigkilled_mid_migration_leaves_nothing_half_applied_and_a_rerun_applies_it(project):
    with TableLock(project, "ACCESS SHARE") as held:
        proc = project.invoke("deploy.phase1", "--env", "t", "--json", wait=False)
        pid, statement = blocked_statement(project, proc, held)
        # the migration's last statement: the new table and its indexes ran before it, uncommitted
        assert 'ALTER TABLE "Users"' in statement, statement
        proc.send_signal(signal.SIGKILL)
        finish(proc)
        assert proc.returncode == -signal.SIGKILL
    wait_backend_gone(project, pid)       # the lock went; the orphaned statement ran and was rolled back

    nothing_migrated(project)
    lock_is_free(project, row_cleared=False)
    code, doc = project.json("status")
    assert code == 1
    [unfinished] = doc["database"]["unfinished"]
    assert unfinished["phase"] == "phase1" and "never finished" in unfinished["text"]
    assert [m["state"] for m in doc["database"]["migrations"]] == ["pending"]

    code, doc = project.json("deploy.phase1")
    assert code == 0, doc
    assert [f"{m['version']}_{m['name']}" for m in doc["applied"]] == [MIGRATION]
    assert "SellerRatings" in project.tables()
    code, doc = project.json("status")
    assert code == 0 and doc["database"]["unfinished"] == [], doc


def test_phase1_session_dropped_mid_migration_is_exit_1_journaled_and_a_rerun_completes(project):
    with TableLock(project, "ACCESS SHARE") as held:
        proc = project.invoke("deploy.phase1", "--env", "t", wait=False)
        pid, statement = blocked_statement(project, proc, held)
        assert 'ALTER TABLE "Users"' in statement, statement
        terminate(project, pid)
        out, err = finish(proc)
    assert proc.returncode == 1, out + err
    cause = [line for line in err.splitlines() if "terminating connection" in line]
    assert len(cause) == 1 and f"{MIGRATION}.sql" in cause[0] and "nothing applied" in cause[0], err
    assert "could not journal" not in err, err

    nothing_migrated(project)
    lock_is_free(project)
    journaled = events(project, "phase1")
    assert [(a, o) for a, o, _ in journaled] == [("start", "started"), ("backup", "ok"), ("migrate", "failed"),
                                                 ("finish", "failed")]
    for _, _, details in journaled[2:]:
        assert "terminating connection" in details["error"], details
    # the first write after the drop failed on the lost session and went through a new one
    assert journaled[2][2]["journal"].startswith("written through a new connection"), journaled[2]
    code, doc = project.json("status")
    assert doc["database"]["unfinished"] == [], doc          # failed and said so: not "never finished"

    code, doc = project.json("deploy.phase1")
    assert code == 0, doc
    assert [f"{m['version']}_{m['name']}" for m in doc["applied"]] == [MIGRATION]


def test_phase4_session_dropped_mid_backfill_commits_nothing_and_a_rerun_applies_it_once(project):
    assert project.json("deploy.phase1")[0] == 0
    for seller, rater, rating in ((2, 3, 5), (2, 4, 2), (5, 3, 4), (6, 7, 1)):
        project.add_rating(seller=seller, rater=rater, rating=rating)   # aggregates stale on purpose
    stale = project.sql('SELECT COUNT(*) FROM "Users" WHERE "TotalRatings" <> 0')
    assert stale == [(0,)]

    with TableLock(project, "SHARE") as held:
        proc = project.invoke("deploy.phase4", "--env", "t", wait=False)
        pid, statement = blocked_statement(project, proc, held)
        assert 'UPDATE "Users"' in statement, statement
        terminate(project, pid)
        out, err = finish(proc)
    assert proc.returncode == 1, out + err
    cause = [line for line in err.splitlines() if "terminating connection" in line]
    assert len(cause) == 1, err
    assert "could not journal" not in err, err

    assert project.sql('SELECT COUNT(*) FROM "Users" WHERE "TotalRatings" <> 0') == [(0,)]   # nothing committed
    lock_is_free(project)
    journaled = events(project, "phase4")
    assert [(a, o) for a, o, _ in journaled] == [("start", "started"), ("backup", "ok"), ("backfill", "failed"),
                                                 ("finish", "failed")]
    assert all("terminating connection" in d["error"] for _, _, d in journaled[2:])
    assert journaled[2][2]["journal"].startswith("written through a new connection"), journaled[2]

    code, doc = project.json("deploy.phase4")
    assert code == 0, doc
    assert doc["rows_changed"] == 3 and doc["discrepancies"] == 0     # sellers 2, 5 and 6, once each
    assert project.sql('SELECT "Id", "TotalRatings", "PositiveRatings" FROM "Users" '
                       'WHERE "TotalRatings" <> 0 ORDER BY "Id"') == [(2, 2, 1), (5, 1, 1), (6, 1, 0)]
    code, doc = project.json("deploy.phase4")
    assert code == 0 and doc["rows_changed"] == 0                     # nothing left to apply

"""monitor.metrics, monitor.verify and monitor.recalculate as a person or CI job runs them: the real
`invoke` against a seeded SQLite file and PostgreSQL database (see test_monitor_support)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.db.connect import connect
from tests.integration.test_monitor_support import make_project
from tests.support.lock_barrier import LockHolder, Waiter


@pytest.fixture(params=["sqlite", "postgres"])
def monitor_project(request, tmp_path):
    """A seeded project on SQLite, then on PostgreSQL; no API running."""
    return make_project(request.param, tmp_path, request)


def test_metrics_json_has_the_known_answers(monitor_project):
    code, doc = monitor_project.json("monitor.metrics", "--days", "7", "--weeks", "4")
    assert code == 0, doc
    assert (doc["days"], doc["weeks"]) == (7, 4)
    assert [d["ratings"] for d in doc["daily"]] == [0, 0, 0, 1, 2, 2, 2]
    assert [(s["rating"], s["ratings"], s["percentage"]) for s in doc["distribution"]] == [
        (5, 4, 40.0), (4, 3, 30.0), (3, 1, 10.0), (2, 1, 10.0), (1, 1, 10.0)]
    assert [(t["seller_id"], t["seller_rating"], t["total_ratings"]) for t in doc["top_sellers"]] == [
        (1, 4.5, 4), (2, 2.0, 3)]
    assert len(doc["weekly"]) == 4
    assert doc["participation"] == {"users_who_rated": 9, "total_users": 20, "participation_rate": 45.0,
                                    "buyers_with_completed_orders": 11, "buyers_who_rated": 8,
                                    "buyer_participation_rate": 72.73}


def test_metrics_tables_and_csv(monitor_project):
    proc = monitor_project.run("monitor.metrics")
    assert proc.returncode == 0, proc.stderr
    for title in ("Ratings created per day, last 30 days", "Rating distribution", "Top-rated sellers",
                  "Rating activity by ISO week", "Rating participation"):
        assert title in proc.stdout
    proc = monitor_project.run("monitor.metrics", "--csv", "--only", "distribution")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ("rating,count,percentage\n5,4,40.00\n4,3,30.00\n3,1,10.00\n2,1,10.00\n1,1,10.00\n")
    proc = monitor_project.run("monitor.metrics", "--format", "csv", "--only", "participation,top-sellers")
    assert proc.stdout == ("# top-sellers\nseller_id,seller_name,seller_rating,total_ratings,positive_ratings\n"
                           "1,User 1,4.50,4,4\n2,User 2,2.00,3,0\n\n# participation\n"
                           "users_who_rated,total_users,participation_rate,buyers_with_completed_orders,"
                           "buyers_who_rated,buyer_participation_rate\n9,20,45.00,11,8,72.73\n")


@pytest.mark.parametrize("args, message", [
    (("monitor.metrics", "--days", "0"), "--days: must be from 1 to 3660 (got 0)"),
    (("monitor.metrics", "--days", "abc"), "--days: expected a whole number, got 'abc'"),
    (("monitor.metrics", "--weeks", "-2"), "--weeks: must be from 1 to 520 (got -2)"),
    (("monitor.metrics", "--format", "xml"), "--format: unknown format 'xml'"),
    (("monitor.metrics", "--only", "everything"), "--only: unknown everything"),
    (("monitor.metrics", "--csv", "--json"), "--json and --format csv are two outputs"),
    (("monitor.report", "--days", "45"), "--days: the runbook's goals are for 30 or 90 days"),
    (("monitor.report", "--days", "ninety"), "--days: expected a whole number"),
    (("monitor.alerts", "--window", "soon"), "--window: 'soon' is not a duration"),
    (("monitor.alerts", "--webhook", "slack"), "--webhook: expected an http(s) URL"),
    (("monitor.recalculate", "--lock-wait", "x"), "--lock-wait: 'x' is not a number of seconds"),
])
def test_bad_flags_are_one_line_and_exit_2(monitor_project, args, message):
    proc = monitor_project.run(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {proc.stderr.strip()[7:]}"] and message in proc.stderr


def test_a_bad_alerts_file_is_exit_2_naming_the_key(monitor_project):
    monitor_project.alerts_yaml("latency:\n  max_seconds: -1\n")
    proc = monitor_project.run("monitor.alerts")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: checks/alerts.yaml: latency.max_seconds: Input should be greater "
                                   "than 0")


def plant_discrepancies(project) -> None:
    """Three sellers out of step: new ratings without aggregates, a bumped total, a wrong average."""
    with project.db() as db:
        db.execute('INSERT INTO "SellerRatings" ("SellerId", "RaterId", "Rating", "CreatedAt", "UpdatedAt") '
                   "VALUES (3, 13, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        db.execute('UPDATE "Users" SET "TotalRatings" = 9 WHERE "Id" = 1')
        db.execute('UPDATE "Users" SET "SellerRating" = 1.5 WHERE "Id" = 4')


@pytest.mark.long
def test_verify_finds_and_recalculate_removes_planted_discrepancies(monitor_project):
    project = monitor_project
    plant_discrepancies(project)
    code, doc = project.json("monitor.verify")
    assert code == 1 and sorted(d["seller_id"] for d in doc["discrepancies"]) == [1, 3, 4]

    code, doc = project.json("monitor.recalculate", "--dry-run")
    assert code == 0 and doc["discrepancies"] == 3 and "UPDATE" in doc["sql"]
    assert project.json("monitor.verify")[0] == 1                      # a dry run changes nothing

    proc = project.run("monitor.recalculate")
    assert proc.returncode == 0, proc.stderr
    assert "recalculated: 3 seller(s) changed; discrepancies 3 -> 0" in proc.stdout
    assert "verified" in proc.stdout                                    # the backup came first
    backups = sorted((project.root.parent / "backups").iterdir())
    assert len(backups) == 1
    assert project.json("monitor.verify")[0] == 0
    with project.db() as db:
        rows = db.query('SELECT "TotalRatings", "PositiveRatings", "SellerRating" FROM "Users" '
                        'WHERE "Id" IN (1, 3, 4) ORDER BY "Id"')
    assert [(t, p, float(r)) for t, p, r in rows] == [(4, 4, 4.5), (3, 2, 3.33), (1, 1, 5.0)]

    code, doc = project.json("deploy.history", "--phase", "monitor")
    actions = [(e["action"], e["outcome"]) for e in reversed(doc["events"])]
    assert actions == [("start", "started"), ("backup", "ok"), ("recalculate", "ok"), ("verify-aggregates", "ok"),
                       ("finish", "ok")]
    recalc = next(e for e in doc["events"] if e["action"] == "recalculate")
    assert recalc["details"] == {"discrepancies": 3, "sellers_changed": 3}

    code, doc = project.json("monitor.recalculate")                    # nothing left: no backup, no journal
    assert code == 0 and doc["sellers_changed"] == 0 and doc["backup"] is None
    assert len(list((project.root.parent / "backups").iterdir())) == 1


def test_recalculate_waits_for_or_refuses_a_held_lock(monitor_project):
    project = monitor_project
    plant_discrepancies(project)
    # the holder keeps the lock until released, however long the CLI takes to start
    with LockHolder(project.root, project.extra_env, task="deploy.phase3") as holder:
        proc = project.run("monitor.recalculate")
        assert proc.returncode == 3 and "alice@laptop" in proc.stderr
        assert project.json("monitor.verify")[0] == 1
        waiter = Waiter(project.root, "monitor.recalculate", "--env", "t", "--lock-wait", "120",
                        extra_env=project.extra_env)
        try:
            line = waiter.wait_for("waiting up to 120s")     # it reached the lock and found it held
            assert "locked by alice@laptop since" in line and "(task deploy.phase3)" in line
            # still waiting, with nothing recalculated, while the lock stays held
            assert waiter.still_running_after(3), waiter.finish().stdout
            assert project.json("monitor.verify")[0] == 1
            holder.release()
            proc = waiter.finish()
        finally:
            waiter.kill()
    assert proc.returncode == 0, proc.stderr
    assert "recalculated: 3 seller(s) changed" in proc.stdout
    assert project.json("monitor.verify")[0] == 0


def test_tasks_before_phase1_say_so(tmp_path, request):
    project = make_project("sqlite", tmp_path, request, seeded=False)
    with connect(project.config, tmp_path) as db:
        db.execute('DROP TABLE "SellerRatings"')
    for task in ("monitor.metrics", "monitor.recalculate", "monitor.report", "monitor.alerts"):
        proc = project.run(task)
        assert proc.returncode == 2 and "run deploy.phase1 first" in proc.stderr, (task, proc.stderr)


def test_an_empty_database_gives_zeros_not_errors(tmp_path, request):
    project = make_project("sqlite", tmp_path, request, seeded=False)
    code, doc = project.json("monitor.metrics", "--days", "3")
    assert code == 0, doc
    assert [d["ratings"] for d in doc["daily"]] == [0, 0, 0]
    assert [s["percentage"] for s in doc["distribution"]] == [0.0] * 5
    assert doc["participation"]["participation_rate"] is None and doc["top_sellers"] == []
    assert Path(project.root).is_dir()

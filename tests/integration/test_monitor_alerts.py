"""monitor.alerts against real data and a real API: each rule fires on data made to trip it and
stays quiet otherwise; the webhook reaches a local receiver; an unreachable host is an alert."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy.db import aggregates, migrate
from deploy.db.connect import connect
from tests.integration.test_monitor_support import (SQL_ROOT, Receiver, StandinApi, add_rating, add_users,
                                                     make_project, new_database)

DATABASE_ONLY = ("error_rate: {enabled: false}\nlatency: {enabled: false}\nrate_limit: {enabled: false}\n")
HTTP_ONLY = ("api: {window: 0, min_requests: 5}\ndiscrepancies: {enabled: false}\n"
             "rating_spike: {enabled: false}\n")
SELLER_PAGE = "/api/v1/ratings/seller/1"


@pytest.fixture(params=["sqlite", "postgres"])
def monitor_project(request, tmp_path):
    """A seeded project on SQLite, then on PostgreSQL; no API running."""
    return make_project(request.param, tmp_path, request)


def states(doc: dict) -> dict:
    return {(a["rule"], a["subject"]): a["state"] for a in doc["alerts"]}


# -- database rules (SQLite and PostgreSQL) -----------------------------------------------------------
def test_database_rules_are_quiet_on_consistent_data(monitor_project):
    monitor_project.alerts_yaml(DATABASE_ONLY)
    code, doc = monitor_project.json("monitor.alerts")
    assert code == 0, doc
    assert states(doc) == {("discrepancies", "database"): "ok", ("rating_spike", "database"): "ok"}
    assert doc["fired"] == 0 and doc["webhook"] == {"posted": False, "reason": "no --webhook"}


def test_discrepancies_fire_and_reach_the_webhook(monitor_project):
    monitor_project.alerts_yaml(DATABASE_ONLY)
    with monitor_project.db() as db:
        db.execute('UPDATE "Users" SET "PositiveRatings" = 0 WHERE "Id" = 1')
    with Receiver() as receiver:
        code, doc = monitor_project.json("monitor.alerts", "--webhook", receiver.url)
    assert code == 1
    assert states(doc)[("discrepancies", "database")] == "firing"
    assert doc["webhook"] == {"posted": True, "alerts": 1}
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post["path"] == "/services/T000/B000/hook" and post["content_type"] == "application/json"
    body = post["body"]
    assert body["blocks"][0]["text"]["text"] == "monitor.alerts on t: 1 alert(s) fired"
    assert "*discrepancies* on database (firing): 1 seller(s)" in body["blocks"][1]["text"]["text"]
    assert "monitor.recalculate" in body["text"]


def test_a_spike_of_ratings_fires(monitor_project):
    monitor_project.alerts_yaml(DATABASE_ONLY)
    now = datetime.now(timezone.utc)
    raters = iter(range(21, 101))                          # each new rating from a new user
    with monitor_project.db() as db:
        add_users(db, 80, first=21)
        for hours_ago in range(1, 24):                     # a steady 2 an hour before the last hour
            for seller in (1, 2):
                add_rating(db, seller, next(raters), 4, now - timedelta(hours=hours_ago, minutes=30))
        aggregates.backfill(db)
    code, doc = monitor_project.json("monitor.alerts")
    assert code == 0 and states(doc)[("rating_spike", "database")] == "ok", doc
    with monitor_project.db() as db:
        for _ in range(30):                                # 30 more in the last hour (plus the dataset's 2)
            add_rating(db, 4, next(raters), 5, now - timedelta(minutes=20))
        aggregates.backfill(db)
    code, doc = monitor_project.json("monitor.alerts")
    assert code == 1
    assert states(doc) == {("discrepancies", "database"): "ok", ("rating_spike", "database"): "firing"}
    spike = next(a for a in doc["alerts"] if a["rule"] == "rating_spike")
    assert spike["value"] == "32 in the last hour" and "potential abuse" in spike["message"]
    assert "median of the 24 hours before: 2" in spike["message"]


def test_an_unreachable_database_is_an_alert_that_still_reaches_the_webhook(tmp_path, request):
    project = make_project("sqlite", tmp_path, request)
    project.alerts_yaml(DATABASE_ONLY)
    Path(project.config.path).unlink()
    with Receiver() as receiver:
        code, doc = project.json("monitor.alerts", "--webhook", receiver.url)
    assert code == 1 and states(doc) == {("database", "database"): "unreachable"}
    assert len(receiver.posts) == 1 and "database unreachable" in receiver.posts[0]["body"]["text"]


def test_a_failed_webhook_is_a_warning_not_a_different_exit(monitor_project):
    monitor_project.alerts_yaml(DATABASE_ONLY)
    with monitor_project.db() as db:
        db.execute('UPDATE "Users" SET "TotalRatings" = 99 WHERE "Id" = 2')
    with Receiver(status=500) as receiver:
        proc = monitor_project.run("monitor.alerts", "--webhook", receiver.url)
    assert proc.returncode == 1 and len(receiver.posts) == 1
    assert "warning: webhook not delivered: HTTP 500" in proc.stderr
    proc = monitor_project.run("monitor.alerts", "--webhook", "http://127.0.0.1:9/hook")
    assert proc.returncode == 1 and "webhook not delivered: cannot reach it" in proc.stderr


def test_nothing_is_posted_when_nothing_fires(monitor_project):
    monitor_project.alerts_yaml(DATABASE_ONLY)
    with Receiver() as receiver:
        code, doc = monitor_project.json("monitor.alerts", "--webhook", receiver.url)
    assert code == 0 and receiver.posts == [] and doc["webhook"]["reason"] == "nothing fired"


# -- HTTP rules against the real stand-in API (SQLite) ---------------------------------------------------
@pytest.fixture
def http_project(tmp_path, request):
    project = make_project("sqlite", tmp_path, request)
    project.alerts_yaml(HTTP_ONLY)
    return project


def test_http_rules_are_quiet_on_healthy_traffic(http_project):
    with StandinApi(http_project.api_port, http_project.url, http_project.root.parent) as api:
        assert [api.get(SELLER_PAGE) for _ in range(30)] == [200] * 30
        code, doc = http_project.json("monitor.alerts")
    assert code == 0, doc
    assert states(doc) == {("error_rate", "api-1"): "ok", ("latency", "api-1"): "ok",
                           ("rate_limit", "api-1"): "ok"}
    error_rate = next(a for a in doc["alerts"] if a["rule"] == "error_rate")
    assert error_rate["value"] == "0.00%" and "30 request(s) since the process started" in error_rate["message"]


def test_error_rate_fires_when_the_api_fails(http_project, tmp_path, request):
    config, url, _ = new_database("sqlite", tmp_path / "unmigrated", request, migrated=False)
    with StandinApi(http_project.api_port, url, tmp_path) as api:       # 503 schema-missing on every call
        assert {api.get(SELLER_PAGE) for _ in range(10)} == {503}
        code, doc = http_project.json("monitor.alerts")
    assert code == 1
    alert = next(a for a in doc["alerts"] if a["rule"] == "error_rate")
    assert alert["state"] == "firing" and alert["value"] == "100.00%"
    assert "10 of 10 request(s) since the process started failed with 5xx" in alert["message"]


def test_a_window_judges_only_the_requests_inside_it(http_project, tmp_path, request):
    config, url, _ = new_database("sqlite", tmp_path / "recovering", request, migrated=False)
    with StandinApi(http_project.api_port, url, tmp_path) as api:
        # 60 errors before the window: they stay over 5% of the totals however long a busy machine
        # makes the two invokes (steady traffic adds at most 20 requests a second: under 57 s)
        assert {api.get(SELLER_PAGE) for _ in range(60)} == {503}          # errors before the window
        with connect(config, tmp_path) as db:
            migrate.apply(db, SQL_ROOT, actor="test")
            add_users(db, 2)
        assert api.get(SELLER_PAGE) == 200                                 # the app has recovered
        stop = threading.Event()

        def steady() -> None:
            while not stop.is_set():
                api.get(SELLER_PAGE)
                time.sleep(0.05)

        worker = threading.Thread(target=steady, daemon=True)
        worker.start()
        try:
            code, doc = http_project.json("monitor.alerts", "--window", "2s")
            totals_code, totals = http_project.json("monitor.alerts", "--window", "0")
        finally:
            stop.set()
            worker.join()
    error_rate = next(a for a in doc["alerts"] if a["rule"] == "error_rate")
    assert code == 0 and error_rate["state"] == "ok" and "in 2 s" in error_rate["message"], doc
    assert totals_code == 1 and states(totals)[("error_rate", "api-1")] == "firing"


def test_latency_fires_when_writes_wait_for_a_locked_database(http_project):
    eligible = [(11, 1), (14, 1), (6, 2), (12, 2)]                       # completed orders, not rated yet
    with StandinApi(http_project.api_port, http_project.url, http_project.root.parent) as api:
        assert [api.get(SELLER_PAGE) for _ in range(6)] == [200] * 6
        blocker = sqlite3.connect(http_project.config.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")                               # another writer holds the database
        with ThreadPoolExecutor(len(eligible)) as pool:
            posts = [pool.submit(api.post, "/api/v1/ratings", {"sellerId": s, "rating": 5}, b) for b, s in eligible]
            time.sleep(1.6)
            blocker.execute("COMMIT")
            blocker.close()
            assert [p.result() for p in posts] == [201] * len(eligible)
        code, doc = http_project.json("monitor.alerts")
    assert code == 1, doc
    latency = next(a for a in doc["alerts"] if a["rule"] == "latency")
    assert latency["state"] == "firing" and int(latency["value"].split()[0]) > 1000, latency


def test_rate_limit_hits_fire_above_the_threshold(http_project):
    http_project.alerts_yaml(HTTP_ONLY + "rate_limit: {max_hits: 3}\n")
    with StandinApi(http_project.api_port, http_project.url, http_project.root.parent,
                    RATE_LIMIT_MAX_REQUESTS="5") as api:
        codes = [api.get(SELLER_PAGE) for _ in range(9)]
        assert codes.count(429) == 4
        code, doc = http_project.json("monitor.alerts")
    assert code == 1
    alert = next(a for a in doc["alerts"] if a["rule"] == "rate_limit")
    assert alert["state"] == "firing" and alert["value"] == "4"
    with StandinApi(http_project.api_port, http_project.url, http_project.root.parent,
                    RATE_LIMIT_MAX_REQUESTS="5") as api:
        assert [api.get(SELLER_PAGE) for _ in range(5)] == [200] * 5
        code, doc = http_project.json("monitor.alerts")
    assert code == 0 and states(doc)[("rate_limit", "api-1")] == "ok"


def test_an_unreachable_host_is_reported_not_skipped(tmp_path, request):
    project = make_project("sqlite", tmp_path, request, hosts=[
        {"name": "api-1", "transport": "local", "address": "127.0.0.1", "roles": ["api"]},
        {"name": "api-2", "transport": "local", "address": "127.0.0.3", "roles": ["api"]},
        {"name": "web-1", "transport": "local", "address": "127.0.0.4", "roles": ["web"]},
    ])
    project.alerts_yaml(HTTP_ONLY)
    with Receiver() as receiver, StandinApi(project.api_port, project.url, tmp_path) as api:
        assert [api.get(SELLER_PAGE) for _ in range(6)] == [200] * 6
        code, doc = project.json("monitor.alerts", "--webhook", receiver.url)
    assert code == 1
    assert states(doc) == {("error_rate", "api-1"): "ok", ("latency", "api-1"): "ok",
                           ("rate_limit", "api-1"): "ok", ("host", "api-2"): "unreachable"}
    text = receiver.posts[0]["body"]["text"]
    assert "*host* on api-2 (unreachable)" in text and "connection refused" in text and "api-1" not in text


def test_too_little_traffic_says_so(http_project):
    with StandinApi(http_project.api_port, http_project.url, http_project.root.parent) as api:
        api.get(SELLER_PAGE)
        code, doc = http_project.json("monitor.alerts")
    assert code == 0
    assert states(doc)[("error_rate", "api-1")] == "no-data" == states(doc)[("latency", "api-1")]

"""db.diagnose as an operator runs it: the real `invoke` against a real SQLite file and a real
PostgreSQL server holding the stand-in's data (users, orders, 600 ratings)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.config.environment import DatabaseConfig
from deploy.db import migrate
from deploy.db.connect import connect
from deploy.diagnose.collect import result_sets
from deploy.secrets import Secret
from tests.support import invoke_fork
from tests.support.envs import APP_ENV, REPO, make_root

STANDIN = REPO / "examples" / "marketplace"
PG_PASSWORD = "s3cret-pg-pass"


def sample(url: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "marketplace.sample", "--database-url", url, *args],
                          cwd=STANDIN, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


class Market:
    def __init__(self, tmp_path: Path, dialect: str, url: str, database: dict, extra_env: dict[str, str]):
        self.dialect, self.url, self.extra_env = dialect, url, extra_env
        self.root = make_root(tmp_path / "project", "t", {
            "secrets": sorted(extra_env),         # PG_ODBC: the connection string has the password
            "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
            "database": database, "env": dict(APP_ENV)})

    def config(self) -> DatabaseConfig:
        if self.dialect == "sqlite":
            return DatabaseConfig(dialect="sqlite", path=self.url.removeprefix("sqlite:///"))
        return DatabaseConfig(dialect="postgres", odbc=Secret(self.url))

    def migrate(self) -> None:
        with connect(self.config(), self.root) as db:
            migrate.apply(db, REPO / "sql", actor="fixture")

    def sql(self, statement: str) -> list[tuple]:
        with connect(self.config(), self.root) as db:
            return db.query(statement) if statement.lstrip().upper().startswith("SELECT") else [db.execute(statement)]

    def invoke(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update({"DEPLOY_ROOT": str(self.root), "CI": "true", **self.extra_env})
        proc = invoke_fork.run([sys.executable, "-m", "invoke", *args],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
        assert PG_PASSWORD not in proc.stdout + proc.stderr
        assert APP_ENV["JWT_SECRET"] not in proc.stdout + proc.stderr
        return proc

    def diagnose(self, *flags: str) -> tuple[int, dict]:
        proc = self.invoke("db.diagnose", "--env", "t", "--json", *flags)
        return proc.returncode, json.loads(proc.stdout)


def new_market(request, tmp_path: Path, dialect: str, ratings: bool = True) -> Market:
    if dialect == "sqlite":
        db_file = tmp_path / "market.db"
        url, database, extra = f"sqlite:///{db_file}", {"dialect": "sqlite", "path": str(db_file)}, {}
        market = Market(tmp_path, dialect, url, database, extra)
        copy_sqlite(request.getfixturevalue("sqlite_markets")(ratings), db_file)
        return market
    url = request.getfixturevalue("postgres").fresh_database("diagnose")
    database, extra = {"dialect": "postgres", "odbc": "${PG_ODBC}"}, {"PG_ODBC": url}
    market = Market(tmp_path, dialect, url, database, extra)
    fill(market, ratings)
    return market


def fill(market: Market, ratings: bool) -> None:
    """The stand-in's users and orders; with ratings: phase 1's migration and 600 ratings."""
    sample(market.url, "--users", "40", "--orders", "60", "--create-schema")
    if ratings:
        market.migrate()
        sample(market.url, "--users", "60", "--ratings", "600", "--sellers", "30")


def copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def sqlite_markets(tmp_path_factory):
    """market(ratings) -> a SQLite file filled by fill() once per session (per xdist worker); each
    test gets a copy (SQLite's backup API) instead of two marketplace.sample runs and a migration."""
    made: dict[bool, Path] = {}

    def market(ratings: bool) -> Path:
        if ratings not in made:
            folder = tmp_path_factory.mktemp("diagnose-market")
            db_file = folder / "market.db"
            fill(Market(folder, "sqlite", f"sqlite:///{db_file}", {"dialect": "sqlite", "path": str(db_file)}, {}),
                 ratings)
            made[ratings] = db_file
        return made[ratings]

    return market


@pytest.fixture(params=["sqlite", "postgres"])
def market(request, tmp_path):
    """A marketplace database after phase 1, with 600 ratings (and every index in place)."""
    return new_market(request, tmp_path, request.param)


def by_status(doc: dict, status: str) -> list[str]:
    return [f["text"] for f in doc["findings"] if f["status"] == status]


def test_a_healthy_database_has_no_problem(market):
    code, doc = market.diagnose()
    assert code == 0, doc
    assert doc["problems"] == 0 and doc["dialect"] == market.dialect
    assert doc["row_counts"] == {"SellerRatings": 600, "Users": 100, "Orders": 60}
    seller = [t for t in by_status(doc, "ok") if t.startswith("SellerRatings lookups by seller")]
    assert seller and "IX_SellerRatings_SellerId_CreatedAt" in seller[0], doc["findings"]
    assert ("one rating per rater and seller: unique index UX_SellerRatings_SellerId_RaterId on "
            "SellerRatings(SellerId, RaterId)") in by_status(doc, "ok")
    assert doc["duplicates"] is None                     # not looked for: the index forbids them
    timed = {q["name"]: q for q in doc["queries"]}
    assert {"verify-aggregates.sql", "top-sellers.sql", "monitoring/participation.sql",
            "app: can-rate"} <= set(timed)
    assert all(q["ms"] is not None and q["error"] is None for q in doc["queries"]), doc["queries"]
    assert timed["top-sellers.sql"]["rows"] == 10
    assert [p["query"] for p in doc["plans"]] == ["ratings-by-seller", "can-rate", "seller-aggregates"]
    assert "raw" not in doc["plans"][0]


def test_diagnose_finds_a_dropped_index(market):
    market.sql('DROP INDEX "IX_SellerRatings_SellerId_CreatedAt"')
    code, doc = market.diagnose()
    assert code == 1
    assert doc["problems"] >= 1 and doc["findings"][0]["status"] == "problem"
    assert any(t.startswith("MISSING: index on SellerRatings(SellerId, CreatedAt)") for t in by_status(doc, "problem"))
    assert "IX_SellerRatings_SellerId_CreatedAt" not in json.dumps(doc["findings"])

    proc = market.invoke("db.diagnose", "--env", "t")          # the human view: findings first
    assert proc.returncode == 1
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    first = lines.index("Findings") + 1
    assert lines[first].startswith("✘ MISSING: index on SellerRatings(SellerId, CreatedAt)"), lines


def test_a_dropped_unique_index_reports_duplicate_ratings(market):
    market.sql('DROP INDEX "UX_SellerRatings_SellerId_RaterId"')
    seller, rater = market.sql('SELECT "SellerId", "RaterId" FROM "SellerRatings" ORDER BY "Id" LIMIT 1')[0]
    market.sql('INSERT INTO "SellerRatings" ("SellerId", "RaterId", "Rating", "CreatedAt", "UpdatedAt") '
               f"VALUES ({seller}, {rater}, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    code, doc = market.diagnose()
    assert code == 1
    problems = by_status(doc, "problem")
    assert problems[0] == "MISSING: unique index on SellerRatings(SellerId, RaterId) - duplicate ratings possible"
    assert doc["duplicates"] == {"pairs": 1, "extra": 1}
    assert any(t.startswith("DUPLICATES: 1 (SellerId, RaterId) pair(s) rated more than once") for t in problems)


def test_reading_every_row_of_a_large_table_is_a_problem(market):
    market.sql('DROP INDEX "IX_SellerRatings_SellerId_CreatedAt"')
    market.sql('DROP INDEX "UX_SellerRatings_SellerId_RaterId"')
    code, doc = market.diagnose("--large-rows", "100")
    assert code == 1
    scans = [t for t in by_status(doc, "problem") if t.startswith("SCAN:")]
    assert any(t.startswith("SCAN: SellerRatings lookups by seller read all 600 rows") for t in scans), scans
    assert any(t.startswith("SCAN: seller aggregates by SellerId read all 600 rows") for t in scans), scans
    plan = doc["plans"][0]
    assert all(a["kind"] != "seek" for a in plan["access"] if a["table"] == "SellerRatings")


def test_verbose_prints_the_sql_and_the_raw_plans(market):
    proc = market.invoke("db.diagnose", "--env", "t", "--verbose")
    assert proc.returncode == 0, proc.stderr
    assert "WHERE r.\"SellerId\" = " in proc.stdout
    if market.dialect == "sqlite":
        assert "SEARCH r USING INDEX IX_SellerRatings_SellerId_CreatedAt (SellerId=?)" in proc.stdout
    else:
        assert "Execution Time:" in proc.stdout and "Buffers: shared hit=" in proc.stdout
    code, doc = market.diagnose("--verbose", "--repeat", "1")
    assert code == 0 and all(p["raw"] for p in doc["plans"])


@pytest.mark.parametrize("flags, expected", [
    (("--repeat", "abc"), "--repeat: 'abc' is not a whole number"),
    (("--large-rows", "0"), "--large-rows must be at least 1"),
    (("--slow-ms", "fast"), "--slow-ms: 'fast' is not a whole number"),
])
def test_bad_flags_are_one_line_exit_2(tmp_path, flags, expected):
    market = Market(tmp_path, "sqlite", "sqlite:///nowhere.db", {"dialect": "sqlite", "path": "nowhere.db"}, {})
    proc = market.invoke("db.diagnose", "--env", "t", *flags)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {expected}"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_before_phase1_the_missing_table_is_the_finding(request, tmp_path, dialect):
    market = new_market(request, tmp_path, dialect, ratings=False)
    code, doc = market.diagnose()
    assert code == 1
    assert by_status(doc, "problem") == [
        "MISSING: table SellerRatings - the rating migration is not applied (invoke deploy.phase1)"]


def test_result_sets_reads_every_set_and_maps_driver_errors(market):
    with connect(market.config(), market.root) as db:
        sets, messages = result_sets(db, 'SELECT COUNT(*) FROM "Users"')
        assert sets == [[(100,)]] and messages == []
        from deploy.db.connect import QueryFailed
        with pytest.raises(QueryFailed, match=market.dialect):
            result_sets(db, "SELECT * FROM no_such_table")


def test_sqlite_file_is_read_only_for_diagnose(market):
    """Diagnose changes nothing: no journal, no lock row, same schema."""
    before = market.sql('SELECT COUNT(*) FROM "SellerRatings"')
    assert market.diagnose()[0] == 0
    assert market.sql('SELECT COUNT(*) FROM "SellerRatings"') == before
    if market.dialect == "sqlite":
        with sqlite3.connect(market.url.removeprefix("sqlite:///")) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "deploy_events" not in tables

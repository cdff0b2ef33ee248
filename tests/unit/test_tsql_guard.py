"""The T-SQL guard: other dialects' syntax in sql/mssql and in every T-SQL string the code builds
is caught with file and line (sqlglot's tsql reader accepts most of it, so parsing alone proves
little; the parse stays as the second check in test_db_tsql / test_db_mssql_text)."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

import deploy
from deploy.db import aggregates, history, journal, lock, migrate, schema_introspect, tsql_guard
from deploy.db import backup_commands as bc
from deploy.db.connect import Database, has_table
from deploy.db.migrations import discover
from deploy.db.scripts import BEGIN, COMMIT, ROLLBACK
from deploy.diagnose import probes
from deploy.errors import ConfigError
from deploy.monitoring import queries, sqlparams
from deploy.demo.traffic import COMPLETED_PAIRS
from tests.support import strict

REPO = Path(__file__).resolve().parents[2]
SQL = REPO / "sql"
MSSQL_FILES = sorted((SQL / "mssql").rglob("*.sql"))
MIGRATION = SQL / "mssql" / "migrations" / "20240101000000_add_seller_ratings.sql"
TOP_RATED = SQL / "mssql" / "monitoring" / "top-rated-sellers.sql"


def findings(text: str, source: str) -> list[str]:
    return [f.at(source) for f in tsql_guard.check(text)]


@pytest.mark.parametrize("path", MSSQL_FILES, ids=lambda p: str(p.relative_to(SQL)))
def test_every_mssql_file_has_no_other_dialects_syntax(path):
    shown = str(path.relative_to(REPO))
    assert findings(path.read_text(encoding="utf-8-sig"), shown) == []


# (construct, the line planted into the migration after its first GO) - each one SQL Server refuses
PLANTED = [
    ("LIMIT", "SELECT Id FROM dbo.Users ORDER BY Id LIMIT 10;"),
    ("OFFSET without ROWS", "SELECT Id FROM dbo.Users ORDER BY Id OFFSET 5;"),
    ("FETCH FIRST/NEXT without OFFSET", "SELECT Id FROM dbo.Users ORDER BY Id FETCH FIRST 5 ROWS ONLY;"),
    (":: cast", "SELECT Id::nvarchar(20) FROM dbo.Users;"),
    ("ILIKE", "SELECT Id FROM dbo.Users WHERE FullName ILIKE N'%a%';"),
    ("ON CONFLICT", "INSERT INTO dbo.SellerRatings (SellerId, RaterId, Rating) VALUES (1, 2, 5) ON CONFLICT DO NOTHING;"),
    ("RETURNING", "INSERT INTO dbo.SellerRatings (SellerId, RaterId, Rating) VALUES (1, 2, 5) RETURNING Id;"),
    ("SERIAL", "CREATE TABLE dbo.T1 (Id SERIAL PRIMARY KEY);"),
    ("SERIAL", "CREATE TABLE dbo.T1 (Id BIGSERIAL PRIMARY KEY);"),
    ("ADD COLUMN", "ALTER TABLE dbo.Users ADD COLUMN Nickname NVARCHAR(50) NULL;"),
    ("NOW()", "UPDATE dbo.SellerRatings SET UpdatedAt = NOW();"),
    ("boolean literal", "SELECT Id FROM dbo.Users WHERE IsSeller = TRUE;"),
    ("boolean literal", "UPDATE dbo.Users SET IsSeller = false;"),
    ("|| concatenation", "SELECT FullName || N' (seller)' FROM dbo.Users;"),
    ('"double-quoted" string', 'SELECT Id FROM dbo.Orders WHERE Status = "completed";'),
    ('"double-quoted" string', 'SELECT Id FROM dbo.Users WHERE FullName LIKE "%a%";'),
    ("AUTOINCREMENT", "CREATE TABLE dbo.T1 (Id INTEGER PRIMARY KEY AUTOINCREMENT);"),
    ("AUTOINCREMENT", "CREATE TABLE dbo.T1 (Id INT AUTO_INCREMENT PRIMARY KEY);"),
    ("CREATE ... IF NOT EXISTS", "CREATE TABLE IF NOT EXISTS dbo.T1 (Id INT);"),
    ("CREATE ... IF NOT EXISTS", "CREATE INDEX IF NOT EXISTS IX_T1 ON dbo.Users (FullName);"),
    ("CREATE ... IF NOT EXISTS", "CREATE UNIQUE INDEX IF NOT EXISTS UX_T1 ON dbo.Users (Email);"),
    ("CREATE OR REPLACE", "CREATE OR REPLACE VIEW dbo.V1 AS SELECT Id FROM dbo.Users;"),
    ("BOOLEAN type", "CREATE TABLE dbo.T1 (Active BOOLEAN NOT NULL);"),
    ("PostgreSQL type", "CREATE TABLE dbo.T1 (At TIMESTAMPTZ NOT NULL);"),
    ("INTERVAL literal", "DELETE FROM dbo.SellerRatings WHERE CreatedAt < SYSUTCDATETIME() - INTERVAL '1 day';"),
    ("DISTINCT ON", "SELECT DISTINCT ON (SellerId) SellerId, Rating FROM dbo.SellerRatings;"),
    ("INSERT OR IGNORE/REPLACE", "INSERT OR IGNORE INTO dbo.Users (Id) VALUES (1);"),
    ("ON DUPLICATE KEY", "INSERT INTO dbo.Users (Id) VALUES (1) ON DUPLICATE KEY UPDATE Id = 1;"),
    ("SQLite date function", "SELECT Id FROM dbo.SellerRatings WHERE CreatedAt > datetime('now', '-1 day');"),
    ("SQLite date function", "SELECT strftime('%Y', CreatedAt) FROM dbo.SellerRatings;"),
    ("GENERATED AS IDENTITY", "CREATE TABLE dbo.T1 (Id INT GENERATED ALWAYS AS IDENTITY);"),
    ("SIMILAR TO", "SELECT Id FROM dbo.Users WHERE FullName SIMILAR TO N'a%';"),
    ("PRAGMA", "PRAGMA foreign_keys = ON;"),
    ("backquoted identifier", "SELECT `Id` FROM dbo.Users;"),
]


def plant(path: Path, line: str) -> tuple[str, int]:
    """The file's text with `line` inserted after its first GO line; the planted line's number."""
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.strip().upper() == "GO") + 1
    return "".join(lines[:at] + [line + "\n"] + lines[at:]), at + 1


@pytest.mark.parametrize("construct, line", PLANTED, ids=[f"{c}:{l[:30]}" for c, l in PLANTED])
def test_each_planted_construct_is_caught_with_file_and_line(construct, line):
    text, number = plant(MIGRATION, line)
    shown = "sql/mssql/migrations/" + MIGRATION.name
    found = findings(text, shown)
    assert found, line
    assert found[0].startswith(f"{shown}:{number}: {construct} ("), found
    with pytest.raises(ConfigError) as refused:
        tsql_guard.refuse(text, shown)
    assert str(refused.value).startswith(f"{shown}:{number}: {construct} (") and refused.value.exit_code == 2


@pytest.mark.parametrize("construct, line", PLANTED, ids=[f"{c}:{l[:30]}" for c, l in PLANTED])
def test_the_same_text_in_a_comment_a_string_or_brackets_is_not_a_finding(construct, line):
    hidden = [f"-- {line}", f"/* {line}\n */", "SELECT N'" + line.replace("'", "''") + "';",
              "SELECT 1 AS [" + line.replace("]", "]]") + "];"]
    for text in hidden:
        assert tsql_guard.check(text) == [], text


def test_the_reported_edits_of_issue_17_fail_on_the_real_files():
    """The two breaks the issue planted by hand: LIMIT in a query file, ADD COLUMN in the migration."""
    limit = TOP_RATED.read_text().replace("SELECT TOP (:limit)", "SELECT").replace(
        "u.TotalRatings DESC, u.Id;", "u.TotalRatings DESC, u.Id\nLIMIT :limit;")
    assert [f.at("f") for f in tsql_guard.check(limit)] == [
        "f:13: LIMIT (LIMIT) is not T-SQL - use TOP (n), or ORDER BY ... OFFSET m ROWS FETCH NEXT n ROWS ONLY"]
    add = MIGRATION.read_text().replace("ALTER TABLE dbo.Users ADD\n", "ALTER TABLE dbo.Users ADD COLUMN\n")
    assert [f.rule.name for f in tsql_guard.check(add)] == ["ADD COLUMN"]


@pytest.mark.parametrize("text", [
    "GRANT SELECT ON SCHEMA::dbo TO reporting;",
    "SELECT geography::Point(47.6, -122.3, 4326);",
    "SELECT Id FROM dbo.Users ORDER BY Id OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY;",
    "SELECT Id FROM dbo.Users ORDER BY Id OFFSET (@skip) ROWS FETCH NEXT (@take) ROWS ONLY;",
    "FETCH NEXT FROM rating_cursor INTO @id;",
    "SELECT TOP (:limit) Id FROM dbo.Users;",
    'SELECT u.Id, "release" FROM dbo.Users AS u WHERE "u".Id = 1 ORDER BY "release";',
    "IF OBJECT_ID(N'dbo.T1', N'U') IS NULL CREATE TABLE dbo.T1 (Id INT IDENTITY(1, 1));",
    "DROP TABLE IF EXISTS dbo.T1;",
    "SELECT CAST(SYSUTCDATETIME() AS date), DATEADD(day, -1, SYSUTCDATETIME());",
    "SELECT CONCAT(FullName, N' x') + N'y' FROM dbo.Users WHERE IsSeller = 1;",
])
def test_t_sql_that_looks_alike_is_not_a_finding(text):
    assert tsql_guard.check(text) == []


# -- every T-SQL string the code builds ---------------------------------------------------------
def mssql_constants() -> dict[str, str]:
    """Every module-level {"mssql": ...} of the package (a new dialect table is covered unasked)."""
    found = {}
    for info in pkgutil.walk_packages(deploy.__path__, "deploy."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, dict) and isinstance(value.get("mssql"), (str, list, tuple)):
                texts = [value["mssql"]] if isinstance(value["mssql"], str) else list(value["mssql"])
                for i, text in enumerate(texts):
                    if isinstance(text, str):
                        found[f"{info.name}.{name}[mssql][{i}]"] = text
    return found


def built_texts() -> dict[str, str]:
    migration = discover(SQL / "mssql" / "migrations")[0]
    texts = {**mssql_constants(),
             "schema_introspect.MSSQL_COLUMNS": schema_introspect.MSSQL_COLUMNS,
             "schema_introspect.MSSQL_INDEXES": schema_introspect.MSSQL_INDEXES,
             "lock.acquire": lock.mssql_acquire_sql("production", 5000),
             "lock.release": lock.mssql_release_sql("production"),
             "backup": bc.mssql_backup_sql("MARKETPLACE_DB", r"C:\Backups\db.bak"),
             "backup.verify": bc.mssql_verify_sql(r"C:\Backups\db.bak"),
             "backup.size": bc.mssql_size_sql("MARKETPLACE_DB"),
             "journal.insert": journal.insert_sql(),
             "journal.select": journal.select_sql("mssql", phase="phase2", action="release", outcome="ok",
                                                  environment="production",
                                                  since=datetime(2024, 1, 1, tzinfo=timezone.utc), limit=5)[0],
             "history.select": history.SELECT_APPLIED,
             "traffic": COMPLETED_PAIRS["mssql"],
             "scripts.begin": BEGIN["mssql"], "scripts.commit": COMMIT["mssql"],
             "scripts.rollback": ROLLBACK["mssql"]}
    for i, text in enumerate(bc.mssql_restore_sql("MARKETPLACE_DB", r"C:\Backups\db.bak")):
        texts[f"restore[{i}]"] = text
    for i, text in enumerate(history.apply_pieces(migration, "o'brien@ci", "mssql")):
        texts[f"history.apply[{i}]"] = text
    for i, text in enumerate(history.rollback_pieces([migration], "mssql")):
        texts[f"history.rollback[{i}]"] = text
    for name in sorted(p.stem for p in (SQL / "mssql" / queries.FOLDER).glob("*.sql")):
        bound, _ = sqlparams.bind(queries.statement("mssql", name, SQL), "mssql",
                                  {"since": 1, "now": 1, "min_ratings": 3, "limit": 10})
        texts[f"monitoring.{name}"] = bound
    for probe in probes.PROBES:
        sql = probes.inline(probes.statement(SQL, "mssql", probe.name), "mssql",
                            {"seller_id": 1, "rater_id": 2, "limit": 20})
        for kind, pieces in (("explain", probes.explain_pieces("mssql", sql)),
                             ("text", probes.text_plan_pieces("mssql", sql)),
                             ("statistics", probes.statistics_pieces(sql))):
            for i, text in enumerate(pieces):
                texts[f"diagnose.{probe.name}.{kind}[{i}]"] = text
    return texts


def test_every_built_t_sql_string_has_no_other_dialects_syntax():
    texts = built_texts()
    assert len(texts) > 40 and any(k.startswith("deploy.db.journal.CREATE") for k in texts)
    bad = [line for name, text in texts.items() for line in findings(text, name)]
    assert bad == []


def test_every_built_t_sql_string_parses():
    """The second check: sqlglot's tsql reader understands each (lenient, but it catches typos)."""
    sqlglot = strict.need_module("sqlglot")
    for name, text in built_texts().items():
        if name.startswith(("lock.", "diagnose.", "backup", "restore")) or "SHOWPLAN" in text:
            continue    # EXEC/SET/BACKUP/RESTORE: sqlglot keeps them as opaque commands
        parsed = sqlglot.parse(text.replace("?", "1"), read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
        assert parsed, name


# -- what the code sends: every statement passes the guard at the one place that sends it --------
class RecordingCursor:
    def __init__(self, sent: list[str]):
        self.sent, self.description, self.rowcount = sent, None, 0

    def execute(self, sql, params=()):
        self.sent.append(sql)
        counting = sql.startswith("SELECT COUNT(")          # the one answer the callers below need
        self.rows, self.description = ([(0,)], [("n",)]) if counting else ([], None)

    def fetchall(self):
        return self.rows

    def nextset(self):
        return False

    def close(self):
        pass


class RecordingConnection:
    def __init__(self):
        self.sent: list[str] = []

    def cursor(self):
        return RecordingCursor(self.sent)


def test_what_the_pipeline_sends_to_sql_server_passes_the_guard():
    conn = RecordingConnection()
    db = Database(conn, "mssql", "MARKETPLACE_DB")
    journal.ensure_table(db)
    journal.record(db, environment="production", phase="phase2", action="release", outcome="ok", actor="ci",
                   details={"note": "LIMIT 5 in a value is data, not code"})
    journal.query(db, environment="production", limit=5)
    assert not has_table(db, "anything")
    migrate.apply(db, SQL, actor="ci")                  # nothing applied yet: the real migration runs
    assert aggregates.count_ratings(db) == 0
    assert len(conn.sent) > 10
    bad = [line for i, text in enumerate(conn.sent) for line in findings(text, f"statement {i}")]
    assert bad == []


def test_planted_t_sql_is_refused_before_it_is_sent():
    conn = RecordingConnection()
    db = Database(conn, "mssql", "MARKETPLACE_DB")
    with pytest.raises(ConfigError, match=r"^T-SQL \(not sent\):1: LIMIT \(LIMIT\) is not T-SQL"):
        db.query("SELECT Id FROM dbo.Users ORDER BY Id LIMIT 5")
    assert conn.sent == []


def test_a_planted_migration_is_refused_with_its_file_before_anything_runs(tmp_path):
    folder = tmp_path / "mssql" / "migrations"
    folder.mkdir(parents=True)
    for path in MIGRATION.parent.iterdir():
        (folder / path.name).write_text(path.read_text())
    text, number = plant(MIGRATION, "ALTER TABLE dbo.Users ADD COLUMN Nickname NVARCHAR(50) NULL;")
    (folder / MIGRATION.name).write_text(text)
    conn = RecordingConnection()
    with pytest.raises(ConfigError) as refused:
        migrate.plan(Database(conn, "mssql", "MARKETPLACE_DB"), tmp_path)
    assert str(refused.value).startswith(f"sql/mssql/migrations/{MIGRATION.name}:{number}: ADD COLUMN (")
    assert conn.sent == []

"""The SQL db.diagnose runs, per dialect, as text (SQL Server's only test: no server runs here)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from deploy.db.scripts import pieces
from deploy.diagnose import probes
from deploy.diagnose.timing import named_values, statements
from deploy.errors import ConfigError
from deploy.monitoring import sqlparams
from tests.support import strict

SQL = Path(__file__).resolve().parents[2] / "sql"
DIALECTS = ("sqlite", "postgres", "mssql")
FILES = ["can-rate", "duplicate-ratings", "probe-ids", "ratings-by-seller", "seller-aggregates"]


def parses_as_tsql(batch: str) -> None:
    sqlglot = strict.need_module("sqlglot")
    parsed = sqlglot.parse(batch, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert parsed and not [e for e in parsed if isinstance(e, sqlglot.exp.Command)], batch


def test_every_diagnose_file_exists_in_every_dialect_as_one_statement():
    for dialect in DIALECTS:
        assert sorted(p.stem for p in (SQL / dialect / "diagnose").glob("*.sql")) == FILES, dialect
        for name in FILES:
            assert len(pieces((SQL / dialect / "diagnose" / f"{name}.sql").read_text(), dialect)) == 1
    for probe in probes.PROBES:
        used = {d: set(sqlparams.names(probes.statement(SQL, d, probe.name), d)) for d in DIALECTS}
        assert used["sqlite"] == used["postgres"] == used["mssql"] <= {"seller_id", "rater_id", "limit"}


def test_statement_drops_the_leading_comments():
    text = probes.statement(SQL, "postgres", "can-rate")
    assert text == 'SELECT "Id"\nFROM "SellerRatings"\nWHERE "SellerId" = :seller_id AND "RaterId" = :rater_id'


def test_inline_writes_whole_numbers_and_leaves_strings_comments_and_casts():
    sql = "SELECT x::date, ':seller_id', \"a:b\" -- :limit\nFROM t WHERE s = :seller_id AND r = :rater_id LIMIT :limit"
    assert probes.inline(sql, "postgres", {"seller_id": 7, "rater_id": "12", "limit": 20}) == (
        "SELECT x::date, ':seller_id', \"a:b\" -- :limit\nFROM t WHERE s = 7 AND r = 12 LIMIT 20")
    with pytest.raises(ValueError):
        probes.inline("SELECT :seller_id", "sqlite", {"seller_id": "1; DROP TABLE x"})
    with pytest.raises(ConfigError, match="no value"):
        probes.inline("SELECT :nope", "sqlite", {"seller_id": 1}, source="sql/x.sql")
    with pytest.raises(ConfigError, match="outside strings"):
        probes.inline("SELECT ? + :seller_id", "sqlite", {"seller_id": 1})


@pytest.mark.parametrize("dialect, expected", [
    ("postgres", 'WHERE r."SellerId" = 210\nORDER BY r."CreatedAt" DESC, r."Id" DESC\nLIMIT 20 OFFSET 0'),
    ("sqlite", 'WHERE r."SellerId" = 210\nORDER BY r."CreatedAt" DESC, r."Id" DESC\nLIMIT 20 OFFSET 0'),
    ("mssql", "WHERE r.SellerId = 210\nORDER BY r.CreatedAt DESC, r.Id DESC\nOFFSET 0 ROWS FETCH NEXT 20 ROWS ONLY;"),
])
def test_the_ratings_page_query_per_dialect(dialect, expected):
    sql = probes.probe_sql(SQL, dialect, probes.PROBES[0], seller_id=210, rater_id=100)
    assert sql.startswith("SELECT r.") and sql.endswith(expected)


def test_explain_text_per_dialect():
    q = 'SELECT "Id" FROM "SellerRatings" WHERE "SellerId" = 1'
    assert probes.explain_pieces("postgres", q) == [f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {q}"]
    assert probes.text_plan_pieces("postgres", q) == [f"EXPLAIN (ANALYZE, BUFFERS) {q}"]
    assert probes.index_only_pieces(q) == ["SET enable_seqscan = off", f"EXPLAIN (FORMAT JSON) {q}",
                                           "RESET enable_seqscan"]
    assert probes.explain_pieces("sqlite", q) == [f"EXPLAIN QUERY PLAN {q}"]
    assert probes.text_plan_pieces("sqlite", q) == [f"EXPLAIN QUERY PLAN {q}"]


def test_sql_server_showplan_and_statistics_are_batches_of_their_own():
    sql = probes.probe_sql(SQL, "mssql", probes.PROBES[1], seller_id=210, rater_id=100)
    assert sql == "SELECT Id\nFROM dbo.SellerRatings\nWHERE SellerId = 210 AND RaterId = 100;"
    showplan = probes.explain_pieces("mssql", sql)
    assert showplan == ["SET SHOWPLAN_TEXT ON", sql, "SET SHOWPLAN_TEXT OFF"]
    assert probes.script("mssql", showplan) == (
        "SET SHOWPLAN_TEXT ON\nGO\n" + sql + "\nGO\nSET SHOWPLAN_TEXT OFF\nGO\n")
    stats = probes.statistics_pieces(sql)
    assert stats == ["SET STATISTICS IO, TIME ON", sql, "SET STATISTICS IO, TIME OFF"]
    for batch in showplan + stats:
        parses_as_tsql(batch)


@pytest.mark.parametrize("probe", probes.PROBES, ids=lambda p: p.name)
def test_every_sql_server_probe_parses_as_tsql_once_inlined(probe):
    parses_as_tsql(probes.probe_sql(SQL, "mssql", probe, seller_id=1, rater_id=2))
    for name in ("probe-ids", "duplicate-ratings"):
        parses_as_tsql(probes.statement(SQL, "mssql", name))


def test_timed_statements_bind_every_monitoring_file():
    now = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    for dialect in DIALECTS:
        found = statements(SQL, dialect, now)
        names = [n for n, _, _ in found]
        assert names[:2] == ["verify-aggregates.sql", "top-sellers.sql"]
        assert "monitoring/participation.sql" in names and len(names) == 9
        assert all(sql and not sqlparams.names(sql, dialect) for _, sql, _ in found), dialect
        assert dict((n, p) for n, _, p in found)["top-sellers.sql"] == [10]
    values = named_values(now, "sqlite")
    assert values["since"] == "2024-01-31T12:00:00.000000Z" and values["min_ratings"] == 3
    assert named_values(now, "postgres")["now"] == datetime(2024, 3, 1, 12, 0)


def test_a_monitoring_file_with_an_unknown_parameter_is_reported_not_fatal(tmp_path):
    for folder in ("monitoring",):
        (tmp_path / "sqlite" / folder).mkdir(parents=True)
    for name in ("verify-aggregates.sql", "top-sellers.sql"):
        (tmp_path / "sqlite" / name).write_text((SQL / "sqlite" / name).read_text())
    (tmp_path / "sqlite" / "monitoring" / "odd.sql").write_text("SELECT :colour;\n")
    found = statements(tmp_path, "sqlite", datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert found[-1][0] == "monitoring/odd.sql" and found[-1][1] == ""
    assert "uses :colour" in found[-1][2][0]

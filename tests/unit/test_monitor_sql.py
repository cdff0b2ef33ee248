"""The monitoring SQL files and their parameter binding, without a database."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from deploy.db.scripts import pieces
from deploy.errors import ConfigError
from deploy.monitoring import periods, sqlparams
from deploy.monitoring.queries import FOLDER, statement
from tests.support import strict

SQL = Path(__file__).resolve().parents[2] / "sql"
DIALECTS = ("sqlite", "postgres", "mssql")
FILES = sorted(p.stem for p in (SQL / "postgres" / FOLDER).glob("*.sql"))


def test_every_query_exists_for_every_dialect():
    assert FILES == ["participation", "rating-distribution", "ratings-per-day", "ratings-per-hour",
                     "seller-coverage", "top-rated-sellers", "weekly-activity"]
    for dialect in DIALECTS:
        assert sorted(p.stem for p in (SQL / dialect / FOLDER).glob("*.sql")) == FILES, dialect


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_one_statement_with_the_same_parameters_in_every_dialect(name):
    used = {}
    for dialect in DIALECTS:
        text = (SQL / dialect / FOLDER / f"{name}.sql").read_text()
        assert len(pieces(text, dialect)) == 1, (dialect, name)
        used[dialect] = set(sqlparams.names(statement(dialect, name, SQL), dialect))
    assert used["sqlite"] == used["postgres"] == used["mssql"], used
    assert used["postgres"] <= {"since", "now", "min_ratings", "limit"}


@pytest.mark.parametrize("name", FILES)
def test_mssql_files_parse_as_tsql(name):
    sqlglot = strict.need_module("sqlglot")
    sql, _ = sqlparams.bind(statement("mssql", name, SQL), "mssql",
                            {"since": 1, "now": 1, "min_ratings": 3, "limit": 10})
    parsed = sqlglot.parse(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert parsed and not [e for e in parsed if isinstance(e, sqlglot.exp.Command)]


def test_bind_replaces_each_use_and_leaves_casts_strings_and_comments():
    sql = "SELECT x::date, ':a', \"b:c\" -- :d\nFROM t /* :e */ WHERE y >= :since AND z < :since AND w = :limit"
    bound, params = sqlparams.bind(sql, "postgres", {"since": "S", "limit": 7})
    assert bound == ("SELECT x::date, ':a', \"b:c\" -- :d\nFROM t /* :e */ WHERE y >= ? AND z < ? AND w = ?")
    assert params == ["S", "S", 7]
    assert sqlparams.names(sql, "postgres") == ["since", "since", "limit"]


def test_bind_names_the_file_when_a_value_is_missing():
    with pytest.raises(ConfigError, match=r"sql/x.sql: uses :since but no value"):
        sqlparams.bind("SELECT :since", "sqlite", {}, source="sql/x.sql")


def test_tsql_brackets_are_identifiers_not_placeholders():
    bound, params = sqlparams.bind("SELECT [a:b] FROM t WHERE c = :v", "mssql", {"v": 1})
    assert bound == "SELECT [a:b] FROM t WHERE c = ?" and params == [1]


def test_day_and_week_windows():
    today = date(2024, 3, 6)                     # a Wednesday
    assert periods.day_window(today, 3) == [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]
    assert periods.days_since(today, 30) == datetime(2024, 2, 6, tzinfo=timezone.utc)
    assert periods.week_start(today) == date(2024, 3, 4)
    assert periods.week_start(date(2024, 3, 10)) == date(2024, 3, 4)      # Sunday belongs to Monday's week
    assert periods.week_window(today, 3) == [date(2024, 2, 19), date(2024, 2, 26), date(2024, 3, 4)]


def test_fill_hourly_and_median():
    assert periods.fill([1, 2, 3], {2: 5}) == [(1, 0), (2, 5), (3, 0)]
    assert periods.hourly({0: 4, 3: 1}, 5) == [4, 0, 0, 1, 0]
    assert periods.median([0, 0, 2, 5]) == 1.0 and periods.median([]) == 0.0
    assert periods.as_date("2024-03-06T10:00:00Z") == date(2024, 3, 6)
    assert periods.as_date(datetime(2024, 3, 6, 23, 59)) == date(2024, 3, 6)

"""The GO splitter, the statement splitter, and every mssql file parsed as T-SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import strict

from deploy.db.scripts import pieces, render
from deploy.db.sqltext import split_statements
from deploy.db.tsql import join_batches, split_batches
from deploy.errors import ConfigError

SQL = Path(__file__).resolve().parents[2] / "sql"


def test_plain_go_lines():
    assert split_batches("SELECT 1\nGO\nSELECT 2\nGO\n") == ["SELECT 1", "SELECT 2"]


def test_lowercase_mixed_case_and_surrounding_blanks():
    text = "SELECT 1\n  go  \nSELECT 2\n\tGo\t\nSELECT 3\ngO"
    assert split_batches(text) == ["SELECT 1", "SELECT 2", "SELECT 3"]


def test_crlf_line_endings():
    assert split_batches("SELECT 1\r\nGO\r\nSELECT 2\r\n") == ["SELECT 1", "SELECT 2"]


def test_go_with_a_comment_after_it():
    assert split_batches("SELECT 1\nGO -- done with part one\nSELECT 2") == ["SELECT 1", "SELECT 2"]


def test_go_n_repeats_the_batch():
    assert split_batches("INSERT INTO t DEFAULT VALUES\nGO 3\nSELECT 1") == [
        "INSERT INTO t DEFAULT VALUES"] * 3 + ["SELECT 1"]
    with pytest.raises(ConfigError, match="GO 0"):
        split_batches("SELECT 1\nGO 0\n")


def test_go_inside_a_string_is_text():
    text = "INSERT INTO t VALUES ('it''s\nGO\nstill the string')\nGO\nSELECT 2"
    assert split_batches(text) == ["INSERT INTO t VALUES ('it''s\nGO\nstill the string')", "SELECT 2"]


def test_go_inside_comments_is_text():
    text = "SELECT 1 /* outer /* nested\nGO\n*/ still comment\nGO\n*/\n-- GO\nGO\nSELECT 2"
    assert split_batches(text) == ["SELECT 1 /* outer /* nested\nGO\n*/ still comment\nGO\n*/\n-- GO", "SELECT 2"]


def test_go_inside_a_bracketed_identifier_is_text():
    text = "CREATE TABLE [odd]]name\nGO\n] (a int)\nGO\nSELECT 2"
    assert split_batches(text) == ["CREATE TABLE [odd]]name\nGO\n] (a int)", "SELECT 2"]


@pytest.mark.parametrize("line", ["GOTO done", "GO_x", "GOTO", "  go_x = 1", "GO;", "GO 3 x", "SELECT 1 GO"])
def test_lines_that_are_not_separators(line):
    assert split_batches(f"SELECT 1\n{line}\nSELECT 2") == [f"SELECT 1\n{line}\nSELECT 2"]


def test_empty_and_comment_only_batches_are_dropped():
    assert split_batches("GO\n\nGO\n-- only a comment\nGO\nSELECT 1\nGO\n\n") == ["SELECT 1"]


def test_join_batches_round_trips():
    batches = ["SELECT 1", "SELECT 'GO'\nFROM x"]
    assert join_batches(batches) == "SELECT 1\nGO\nSELECT 'GO'\nFROM x\nGO\n"
    assert split_batches(join_batches(batches)) == batches


def test_statement_splitter_knows_strings_comments_and_dollar_quotes():
    text = ("INSERT INTO a VALUES ('x;y'); -- trailing; comment\n"
            "/* a; b */ SELECT \"semi;colon\" FROM b;\n"
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n;  \n-- only comment\n")
    assert split_statements(text, "postgres") == [
        "INSERT INTO a VALUES ('x;y')",
        "-- trailing; comment\n/* a; b */ SELECT \"semi;colon\" FROM b",
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
    ]


def test_render_and_pieces_agree():
    parts = ["CREATE TABLE a (x int)", "INSERT INTO a VALUES (1)"]
    assert render(parts, "postgres") == "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n"
    assert pieces(render(parts, "sqlite"), "sqlite") == parts
    assert pieces(render(parts, "mssql"), "mssql") == parts


MSSQL_FILES = sorted((SQL / "mssql").rglob("*.sql"))


@pytest.mark.parametrize("path", MSSQL_FILES, ids=lambda p: str(p.relative_to(SQL)))
def test_every_mssql_file_parses_as_tsql_batch_by_batch(path):
    sqlglot = strict.need_module("sqlglot")
    batches = split_batches(path.read_text(encoding="utf-8-sig"))
    assert batches
    for batch in batches:
        parsed = sqlglot.parse(batch, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
        # no statement may fall back to an opaque Command: sqlglot understood all of it
        assert not [e for e in parsed if isinstance(e, sqlglot.exp.Command)], batch


def test_all_dialects_have_the_same_files():
    names = {d: sorted(str(p.relative_to(SQL / d)) for p in (SQL / d).rglob("*.sql"))
             for d in ("sqlite", "postgres", "mssql")}
    assert names["sqlite"] == names["postgres"] == names["mssql"]
    assert "backfill-rating-aggregates.sql" in names["mssql"] and "verify-aggregates.sql" in names["mssql"]


def test_mssql_migration_separates_alter_from_later_batches():
    batches = split_batches((SQL / "mssql/migrations/20240101000000_add_seller_ratings.sql").read_text())
    assert len(batches) == 3
    assert "ALTER TABLE dbo.Users ADD" in batches[-1] and "CREATE" not in batches[-1]


def test_render_keeps_the_semicolon_out_of_a_trailing_comment():
    text = render(["SELECT 1 -- the answer"], "postgres")
    assert text == "SELECT 1 -- the answer\n;\n"
    assert pieces(text, "postgres") == ["SELECT 1 -- the answer"]

"""checks/schema.yaml validation and the pure schema comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.db.schema import compare
from deploy.db.schema_introspect import family, fold
from deploy.db.schema_spec import load, parse
from deploy.errors import ConfigError

SPEC = Path(__file__).resolve().parents[2] / "checks" / "schema.yaml"


def test_the_shipped_schema_yaml_is_valid():
    spec = load(SPEC)
    ratings = spec.tables["SellerRatings"]
    assert ratings.columns["Rating"].nullable is False
    assert any(i.columns == ("SellerId", "RaterId") and i.unique for i in ratings.indexes)


@pytest.mark.parametrize("data, message", [
    ({"tables": {"T": {"columns": {"a": {"type": "integer", "nullable": False}}, "extra": 1}}},
     "tables.T.extra: unknown key"),
    ({"tables": {"T": {"columns": {"a": {"type": "integer", "nullable": False, "size": 4}}}}},
     "tables.T.columns.a.size: unknown key"),
    ({"tables": {"T": {"columns": {"a": {"type": "varchar", "nullable": False}}}}},
     "tables.T.columns.a.type: Input should be"),
    ({"tables": {"T": {"columns": {"a": {"type": "text"}}}}}, "tables.T.columns.a.nullable: Field required"),
    ({"tables": {"T": {"columns": {"a": {"type": "text", "nullable": True}},
                       "indexes": [{"columns": ["b"]}]}}}, "names unknown column 'b'"),
    ({"tables": {}}, "tables:"),
    ({"tables": {"T": {"columns": {"a": {"type": "text", "nullable": True}}}}, "tabels": {}},
     "tabels: unknown key"),
])
def test_bad_schema_yaml_is_one_config_error(data, message):
    with pytest.raises(ConfigError) as err:
        parse(data, "checks/schema.yaml")
    assert message in str(err.value) and str(err.value).startswith("checks/schema.yaml: ")


@pytest.mark.parametrize("raw, fam", [
    ("INTEGER", "integer"), ("smallint", "integer"), ("tinyint", "integer"), ("bigint", "integer"),
    ("numeric", "decimal"), ("DECIMAL(3, 2)", "decimal"), ("REAL", "decimal"), ("double precision", "decimal"),
    ("character varying", "text"), ("nvarchar", "text"), ("TEXT", "text"),
    ("timestamp without time zone", "datetime"), ("DATETIME", "datetime"), ("datetime2", "datetime"),
    ("boolean", "boolean"), ("bit", "boolean"), ("bytea", "binary"),
])
def test_type_families(raw, fam):
    assert family(raw) == fam


def live(drop_unique=False, nullable_rating=False, comment_type="TEXT"):
    columns = [("SellerRatings", c, t, n) for c, t, n in [
        ("Id", "INTEGER", 0), ("SellerId", "INTEGER", 0), ("RaterId", "INTEGER", 0),
        ("Rating", "INTEGER", int(nullable_rating)), ("Comment", comment_type, 1),
        ("CreatedAt", "DATETIME", 0), ("UpdatedAt", "DATETIME", 0)]]
    columns += [("Users", c, t, n) for c, t, n in [
        ("Id", "integer", 0), ("FullName", "varchar", 0), ("Email", "varchar", 0), ("CreatedAt", "timestamp", 0),
        ("SellerRating", "numeric", 1), ("TotalRatings", "integer", 0), ("PositiveRatings", "integer", 0)]]
    indexes = [("Users", "UX_Email", 1, 1, "Email"),
               ("SellerRatings", "IX_SC", 0, 2, "CreatedAt"), ("SellerRatings", "IX_SC", 0, 1, "SellerId"),
               ("SellerRatings", "IX_R", 0, 1, "RaterId"), ("SellerRatings", "IX_C", 0, 1, "CreatedAt")]
    if not drop_unique:
        indexes += [("SellerRatings", "UX", 1, 1, "SellerId"), ("SellerRatings", "UX", 1, 2, "RaterId")]
    return fold(columns, indexes)


def test_fold_orders_index_columns_by_position():
    tables = live()
    assert [i.columns for i in tables["SellerRatings"].indexes if i.name == "IX_SC"] == [("SellerId", "CreatedAt")]


def test_compare_reports_precise_differences():
    spec = load(SPEC)
    assert compare(spec, live()) == []
    assert compare(spec, live(drop_unique=True)) == ["missing unique index on SellerRatings(SellerId, RaterId)"]
    assert compare(spec, live(nullable_rating=True)) == ["SellerRatings.Rating: expected NOT NULL, found NULL"]
    assert compare(spec, live(comment_type="INTEGER")) == [
        "SellerRatings.Comment: expected text, found integer (INTEGER)"]
    tables = live()
    del tables["Users"].columns["TotalRatings"]
    del tables["SellerRatings"]
    assert compare(spec, tables) == ["missing column Users.TotalRatings", "missing table SellerRatings"]

"""Schema verification: the live database against checks/schema.yaml, as precise differences.

An empty list means the schema is as declared. Each difference is one line an operator can act
on: "SellerRatings.Rating: expected NOT NULL, found NULL",
"missing unique index on SellerRatings(SellerId, RaterId)".
"""

from __future__ import annotations

from pathlib import Path

from deploy.db.connect import Database
from deploy.db.schema_introspect import LiveTable, introspect
from deploy.db.schema_spec import IndexSpec, SchemaSpec, TableSpec, load


def verify(db: Database, spec: SchemaSpec | Path) -> list[str]:
    """Differences between the database and the spec (a SchemaSpec or a path to the YAML)."""
    if not isinstance(spec, SchemaSpec):
        spec = load(Path(spec))
    return compare(spec, introspect(db))


def compare(spec: SchemaSpec, live: dict[str, LiveTable]) -> list[str]:
    found: list[str] = []
    for table, want in spec.tables.items():
        have = live.get(table)
        if have is None:
            found.append(f"missing table {table}")
            continue
        found += _columns(table, want, have) + _indexes(table, want, have)
    return found


def _columns(table: str, want: TableSpec, have: LiveTable) -> list[str]:
    out = []
    for name, col in want.columns.items():
        live = have.columns.get(name)
        if live is None:
            out.append(f"missing column {table}.{name}")
            continue
        if live.family != col.type:
            out.append(f"{table}.{name}: expected {col.type}, found {live.family} ({live.raw_type})")
        if live.nullable != col.nullable:
            out.append(f"{table}.{name}: expected {_null(col.nullable)}, found {_null(live.nullable)}")
    return out


def _indexes(table: str, want: TableSpec, have: LiveTable) -> list[str]:
    out = []
    for index in want.indexes:
        same_columns = [i for i in have.indexes if i.columns == index.columns]
        kind = "unique index" if index.unique else "index"
        if not same_columns:
            out.append(f"missing {kind} on {_where(table, index)}")
        elif index.unique and not any(i.unique for i in same_columns):
            out.append(f"{_where(table, index)}: expected a unique index, found "
                       f"{', '.join(i.name for i in same_columns)} (not unique)")
    return out


def _where(table: str, index: IndexSpec) -> str:
    return f"{table}({', '.join(index.columns)})"


def _null(nullable: bool) -> str:
    return "NULL" if nullable else "NOT NULL"

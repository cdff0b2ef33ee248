"""Read the live schema: columns (type family, nullability) and indexes, per dialect.

The queries return flat rows (one per column, one per index column) and the pure functions
below fold them, so the folding is tested without a database and the mssql text can be parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.db.connect import Database


@dataclass(frozen=True)
class LiveColumn:
    family: str
    nullable: bool
    raw_type: str


@dataclass(frozen=True)
class LiveIndex:
    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass
class LiveTable:
    columns: dict[str, LiveColumn] = field(default_factory=dict)
    indexes: list[LiveIndex] = field(default_factory=list)


POSTGRES_COLUMNS = """SELECT table_name, column_name, data_type, CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END
FROM information_schema.columns
WHERE table_schema = current_schema()
ORDER BY table_name, ordinal_position"""

POSTGRES_INDEXES = """SELECT t.relname, i.relname, CASE WHEN ix.indisunique THEN 1 ELSE 0 END, k.ord, a.attname
FROM pg_index AS ix
JOIN pg_class AS t ON t.oid = ix.indrelid
JOIN pg_class AS i ON i.oid = ix.indexrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE n.nspname = current_schema()
ORDER BY t.relname, i.relname, k.ord"""

MSSQL_COLUMNS = """SELECT t.name, c.name, ty.name, CAST(c.is_nullable AS int)
FROM sys.tables AS t
JOIN sys.columns AS c ON c.object_id = t.object_id
JOIN sys.types AS ty ON ty.user_type_id = c.user_type_id
WHERE t.schema_id = SCHEMA_ID(N'dbo')
ORDER BY t.name, c.column_id"""

MSSQL_INDEXES = """SELECT t.name, i.name, CAST(i.is_unique AS int), ic.key_ordinal, c.name
FROM sys.indexes AS i
JOIN sys.tables AS t ON t.object_id = i.object_id
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE t.schema_id = SCHEMA_ID(N'dbo') AND i.type > 0 AND ic.is_included_column = 0
ORDER BY t.name, i.name, ic.key_ordinal"""


def family(raw_type: str) -> str:
    """A declared or catalogue type -> integer | decimal | text | datetime | boolean | binary."""
    t = (raw_type or "").lower()
    if t in ("bit", "bool", "boolean"):
        return "boolean"
    if any(k in t for k in ("timestamp", "datetime", "date", "time")) and "interval" not in t:
        return "datetime"
    if "int" in t or t == "serial":
        return "integer"
    if any(k in t for k in ("char", "text", "clob", "string", "uuid", "uniqueidentifier")):
        return "text"
    if any(k in t for k in ("dec", "num", "real", "floa", "doub", "money")):
        return "decimal"
    if any(k in t for k in ("blob", "binary", "bytea", "image")):
        return "binary"
    return t or "unknown"


def fold(column_rows: list[tuple], index_rows: list[tuple]) -> dict[str, LiveTable]:
    """(table, column, type, nullable 0/1) rows + (table, index, unique 0/1, position, column) rows."""
    tables: dict[str, LiveTable] = {}
    for table, column, raw, nullable in column_rows:
        tables.setdefault(table, LiveTable()).columns[column] = LiveColumn(family(raw), bool(int(nullable)), raw)
    grouped: dict[tuple[str, str], tuple[bool, list[tuple[int, str]]]] = {}
    for table, index, unique, position, column in index_rows:
        grouped.setdefault((table, index), (bool(int(unique)), []))[1].append((int(position), column))
    for (table, index), (unique, cols) in grouped.items():
        ordered = tuple(c for _, c in sorted(cols))
        tables.setdefault(table, LiveTable()).indexes.append(LiveIndex(index, ordered, unique))
    return tables


def introspect(db: Database) -> dict[str, LiveTable]:
    if db.dialect == "sqlite":
        return fold(*_sqlite_rows(db))
    if db.dialect == "postgres":
        return fold(db.query(POSTGRES_COLUMNS), db.query(POSTGRES_INDEXES))
    return fold(db.query(MSSQL_COLUMNS), db.query(MSSQL_INDEXES))


def _sqlite_rows(db: Database) -> tuple[list[tuple], list[tuple]]:
    columns, indexes = [], []
    names = [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for table in names:
        quoted = '"' + table.replace('"', '""') + '"'
        for _cid, name, raw, notnull, _default, pk in db.query(f"PRAGMA table_info({quoted})"):
            # an INTEGER PRIMARY KEY is the rowid: never NULL even without NOT NULL
            rowid = pk and str(raw).upper() == "INTEGER"
            columns.append((table, name, raw, 0 if (notnull or rowid) else 1))
        for _seq, index, unique, _origin, _partial in db.query(f"PRAGMA index_list({quoted})"):
            iq = '"' + index.replace('"', '""') + '"'
            for seqno, _cid, name in db.query(f"PRAGMA index_info({iq})"):
                indexes.append((table, index, unique, seqno, name))
    return columns, indexes

"""Pure: query plans as one small model - how each table is reached, and whether rows are sorted.

SQLite's EXPLAIN QUERY PLAN and SQL Server's SHOWPLAN_TEXT are parsed here; PostgreSQL's JSON
plan in pg_plan.py. Every parser keeps the raw text, shown with --verbose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SEEK, INDEX_SCAN, FULL_SCAN = "seek", "index-scan", "full-scan"


@dataclass(frozen=True)
class Access:
    """One way the plan reaches a table: a seek through an index, or reading all of it."""

    table: str
    kind: str                      # seek | index-scan (every entry of an index) | full-scan
    index: str | None = None
    rows_read: int | None = None   # rows the server examined, where the plan says (ANALYZE)

    @property
    def reads_everything(self) -> bool:
        return self.kind != SEEK


@dataclass(frozen=True)
class Plan:
    accesses: tuple[Access, ...] = ()
    sorts: bool = False                 # an explicit sort step (the index did not give the order)
    execution_ms: float | None = None   # PostgreSQL ANALYZE
    buffers: int | None = None          # PostgreSQL BUFFERS: shared blocks hit + read
    raw: tuple[str, ...] = field(default=(), compare=False)

    def on(self, table: str) -> list[Access]:
        return [a for a in self.accesses if a.table.lower() == table.lower()]


# -- SQLite: EXPLAIN QUERY PLAN rows (id, parent, notused, detail) ------------------------------
_SQLITE = re.compile(
    r"^(?P<op>SCAN|SEARCH)(?: TABLE)? (?P<name>[^\s(]+)(?: AS (?P<alias>[^\s(]+))?"
    r"(?: USING (?:(?P<pk>(?:INTEGER )?PRIMARY KEY)|(?:AUTOMATIC )?(?:COVERING )?INDEX(?: (?P<index>[^\s(]+))?))?"
    r"(?P<cond> \(.*\))?")
# "... FOR RIGHT PART OF ORDER BY" / "LAST TERM OF": the index gave the leading order already
_SQLITE_SORT = re.compile(r"^USE TEMP B-TREE FOR (?:ORDER|GROUP) BY")
_FROM = re.compile(r'\b(?:FROM|JOIN)\s+(?:\w+\.)?"?(\w+)"?(?:\s+(?:AS\s+)?"?(\w+)"?)?', re.IGNORECASE)
_NOT_ALIAS = {"where", "join", "on", "inner", "left", "right", "full", "cross", "order", "group",
              "having", "limit", "offset", "union", "with", "using", "natural", "outer", "fetch"}


def aliases_in(sql: str) -> dict[str, str]:
    """alias -> table for the FROM/JOIN items of a query (SQLite's plan names the alias)."""
    found: dict[str, str] = {}
    for table, alias in _FROM.findall(sql):
        found[table] = table
        if alias and alias.lower() not in _NOT_ALIAS:
            found[alias] = table
    return found


def parse_sqlite(rows: list[tuple], aliases: dict[str, str] | None = None) -> Plan:
    aliases = aliases or {}
    details = [str(r[-1]) for r in rows]
    accesses, sorts = [], False
    for detail in details:
        if _SQLITE_SORT.match(detail):
            sorts = True
            continue
        m = _SQLITE.match(detail)
        if not m or m.group("name") in ("CONSTANT", "SUBQUERY"):
            continue
        table = aliases.get(m.group("alias") or m.group("name"), m.group("name"))
        seek = m.group("op") == "SEARCH" and bool(m.group("cond"))
        if m.group("pk"):
            index = "PRIMARY KEY"
        else:
            index = m.group("index") or ("AUTOMATIC INDEX" if "AUTOMATIC" in detail else None)
        kind = SEEK if seek else (INDEX_SCAN if index else FULL_SCAN)
        accesses.append(Access(table, kind, index))
    return Plan(tuple(accesses), sorts, raw=tuple(details))


# -- SQL Server: SET SHOWPLAN_TEXT ON rows (StmtText) -------------------------------------------
_MSSQL_OP = re.compile(r"\|--(?P<op>[A-Za-z][A-Za-z ]*?)\((?P<args>.*)\)\s*$")
_MSSQL_OBJECT = re.compile(r"OBJECT:\((?P<parts>\[[^\]]*\](?:\.\[[^\]]*\])*)(?: AS \[(?P<alias>[^\]]*)\])?\)")


def parse_mssql(lines: list[str]) -> Plan:
    accesses, sorts = [], False
    for line in lines:
        m = _MSSQL_OP.search(line)
        if not m:
            continue
        op, args = m.group("op").strip(), m.group("args")
        if op in ("Sort", "Top N Sort"):
            sorts = True
            continue
        obj = _MSSQL_OBJECT.search(args)
        if not obj or not any(w in op for w in ("Seek", "Scan")):
            continue
        if "LOOKUP" in args:       # a key lookup after a seek: not how the rows were found
            continue
        parts = re.findall(r"\[([^\]]*)\]", obj.group("parts"))
        table, index = (parts[-2], parts[-1]) if len(parts) >= 4 else (parts[-1], None)
        if "Seek" in op:
            kind = SEEK
        elif op == "Index Scan":
            kind = INDEX_SCAN
        else:                      # Table Scan, Clustered Index Scan: every row of the table
            kind = FULL_SCAN
        accesses.append(Access(table, kind, index))
    return Plan(tuple(accesses), sorts, raw=tuple(lines))

"""Pure: PostgreSQL's EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) document -> plans.Plan."""

from __future__ import annotations

import json
from typing import Any, Iterator

from deploy.diagnose.plans import FULL_SCAN, INDEX_SCAN, SEEK, Access, Plan

# "Incremental Sort" only orders within groups an index already sorted: not a sort of all rows
_SORTS = ("Sort",)


def parse_postgres(document: str | list | dict) -> Plan:
    """The document as psqlODBC returns it (one text value), or already decoded."""
    data = json.loads(document) if isinstance(document, str) else document
    top = data[0] if isinstance(data, list) else data
    root = top["Plan"]
    accesses, sorts = [], False
    for node in _walk(root):
        kind = node.get("Node Type", "")
        if kind in _SORTS:
            sorts = True
        access = _access(node)
        if access:
            accesses.append(access)
    buffers = None
    if "Shared Hit Blocks" in root:
        buffers = int(root.get("Shared Hit Blocks", 0)) + int(root.get("Shared Read Blocks", 0))
    raw = json.dumps(data, indent=2).splitlines()
    return Plan(tuple(accesses), sorts, top.get("Execution Time"), buffers, raw=tuple(raw))


def _walk(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", ()):
        yield from _walk(child)


def _access(node: dict) -> Access | None:
    kind = node.get("Node Type", "")
    table = node.get("Relation Name")
    if kind == "Seq Scan" and table:
        return Access(table, FULL_SCAN, None, _rows_read(node))
    if kind in ("Index Scan", "Index Only Scan") and table:
        how = SEEK if node.get("Index Cond") else INDEX_SCAN
        return Access(table, how, node.get("Index Name"), _rows_read(node))
    if kind == "Bitmap Heap Scan" and table:
        indexes = [n.get("Index Name") for n in _walk(node) if n.get("Node Type") == "Bitmap Index Scan"]
        return Access(table, SEEK, indexes[0] if indexes else None, _rows_read(node))
    return None


def _rows_read(node: dict[str, Any]) -> int | None:
    """Rows the node produced plus those its filter threw away, over all loops."""
    if "Actual Rows" not in node:
        return None       # EXPLAIN without ANALYZE
    loops = int(node.get("Actual Loops", 1) or 1)
    kept = float(node["Actual Rows"]) + float(node.get("Rows Removed by Filter", 0))
    return int(round(kept * loops))

"""The reads behind db.diagnose: catalogue, row counts, plans of the app's queries, duplicates.

Read-only (PostgreSQL's EXPLAIN ANALYZE runs the SELECTs it explains; nothing is written), so it
takes no deploy lock and writes no journal.
"""

from __future__ import annotations

from pathlib import Path

from deploy.db import tsql_guard
from deploy.db.connect import Database, QueryFailed, describe, has_table
from deploy.db.schema_introspect import introspect
from deploy.diagnose import probes
from deploy.diagnose.model import TABLE, Evidence, ProbeResult
from deploy.diagnose.pg_plan import parse_postgres
from deploy.diagnose.plans import Plan, aliases_in, parse_mssql, parse_sqlite
from deploy.diagnose.rules import PAIR
from deploy.diagnose.timing import time_queries
from deploy.errors import StepFailed
from deploy.secrets import mask

COUNTED = ("SellerRatings", "Users", "Orders")


def gather(db: Database, sql_root: Path, repeat: int = 3, verbose: bool = False) -> Evidence:
    ev = Evidence(db.dialect, has_table=has_table(db, TABLE))
    if not ev.has_table:
        return ev
    tables = introspect(db)
    ev.indexes = list(tables[TABLE].indexes) if TABLE in tables else []
    ev.row_counts = {t: row_count(db, t) for t in COUNTED if t in tables}
    seller_id, rater_id = probe_ids(db, sql_root)
    ev.probes = [explain(db, sql_root, p, seller_id, rater_id, verbose) for p in probes.PROBES]
    pair = {c.lower() for c in PAIR}
    if not any(i.unique and {c.lower() for c in i.columns} == pair for i in ev.indexes):
        row = db.query_one(probes.statement(sql_root, db.dialect, "duplicate-ratings"))
        ev.duplicates = (int(row[0]), int(row[1])) if row else (0, 0)
    app_queries = {f"app: {r.probe.name}": r.sql for r in ev.probes}
    ev.timings = time_queries(db, sql_root, repeat, extra=app_queries)
    return ev


def row_count(db: Database, table: str) -> int:
    name = f"dbo.{table}" if db.dialect == "mssql" else f'"{table}"'
    return int(db.scalar(f"SELECT COUNT(*) FROM {name}"))


def probe_ids(db: Database, sql_root: Path) -> tuple[int, int]:
    """The newest rating's seller and rater; (1, 2) on an empty table (the plan is the same)."""
    row = db.query_one(probes.statement(sql_root, db.dialect, "probe-ids"))
    return (int(row[0]), int(row[1])) if row else (1, 2)


def explain(db: Database, sql_root: Path, probe: probes.Probe, seller_id: int, rater_id: int,
            verbose: bool) -> ProbeResult:
    sql = probes.probe_sql(sql_root, db.dialect, probe, seller_id, rater_id)
    try:
        plan, index_only = _plan(db, sql), None
        if db.dialect == "postgres" and not any(a.kind == "seek" for a in plan.on(TABLE)):
            index_only = parse_postgres(_pieces_rows(db, probes.index_only_pieces(sql))[0][0])
        text, stats = _verbose(db, sql) if verbose else ((), ())
    except StepFailed as exc:
        return ProbeResult(probe, sql, error=mask(str(exc)))
    return ProbeResult(probe, sql, plan, index_only, text_plan=text, statistics=stats)


def _plan(db: Database, sql: str) -> Plan:
    rows = _pieces_rows(db, probes.explain_pieces(db.dialect, sql))
    if db.dialect == "postgres":
        return parse_postgres(rows[0][0])
    if db.dialect == "sqlite":
        return parse_sqlite(rows, aliases_in(sql))
    return parse_mssql([str(r[0]) for r in rows])


def _verbose(db: Database, sql: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if db.dialect == "postgres":
        return tuple(str(r[0]) for r in db.query(probes.text_plan_pieces("postgres", sql)[0])), ()
    if db.dialect == "sqlite":
        return tuple(str(r[-1]) for r in db.query(probes.text_plan_pieces("sqlite", sql)[0])), ()
    plan = tuple(str(r[0]) for r in _pieces_rows(db, probes.explain_pieces("mssql", sql)))
    on, query, off = probes.statistics_pieces(sql)
    db.execute(on)
    try:
        _, messages = result_sets(db, query)
    finally:
        db.execute(off)
    return plan, tuple(messages)


def _pieces_rows(db: Database, pieces: list[str]) -> list[tuple]:
    """Run SET ... / the statement / SET ... back; the rows of every result set of the middle one
    (SHOWPLAN_TEXT answers with the statement's text first, then its plan)."""
    if len(pieces) == 1:
        return db.query(pieces[0])
    first, middle, last = pieces
    db.execute(first)
    try:
        sets, _ = result_sets(db, middle)
    finally:
        db.execute(last)
    return [row for rows in sets for row in rows]


def result_sets(db: Database, sql: str) -> tuple[list[list[tuple]], list[str]]:
    """Every result set of one batch, and the server's informational messages (pyodbc), e.g.
    SQL Server's STATISTICS IO/TIME lines. Database.query keeps only the first result set."""
    if db.dialect == "mssql":
        tsql_guard.refuse(sql, "T-SQL (not sent)")
    cur = db.conn.cursor()
    sets: list[list[tuple]] = []
    messages: list[str] = []
    try:
        cur.execute(sql)
        while True:
            if cur.description:
                sets.append([tuple(r) for r in cur.fetchall()])
            messages += [str(m[1]) for m in (getattr(cur, "messages", None) or [])]
            nextset = getattr(cur, "nextset", None)   # sqlite3 has one result set, no nextset
            if nextset is None or not nextset():
                break
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("pyodbc", "sqlite3"):
            raise QueryFailed(f"{db.dialect}: {describe(exc)}", sql) from None
        raise
    finally:
        cur.close()
    return sets, messages

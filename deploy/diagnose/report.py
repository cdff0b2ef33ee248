"""db.diagnose's output: findings first, in plain words; then counts and times; raw plans with
--verbose. The same content as a dict for --json."""

from __future__ import annotations

from deploy.diagnose.model import OK, PROBLEM, WARN, Evidence, Finding
from deploy.diagnose.plans import Plan
from deploy.output.console import Output

MARK = {PROBLEM: "fail", WARN: "warn", OK: "pass"}


def show(out: Output, ev: Evidence, found: list[Finding], verbose: bool) -> None:
    out.section("Findings")
    for f in found:
        out.item(MARK[f.status], f.text)
    if ev.row_counts:
        out.line("rows: " + ", ".join(f"{t} {n:,}" for t, n in ev.row_counts.items()))
    if ev.timings:
        out.table("Query times (median)", ["query", "ms", "rows"],
                  [(t.name, "failed" if t.ms is None else f"{t.ms:,.1f}", t.rows) for t in ev.timings])
    if verbose:
        for result in ev.probes:
            out.section(f"\n-- {result.probe.label} ({result.probe.name}.sql)")
            out.line(result.sql)
            for line in result.text_plan or (result.plan.raw if result.plan else ()):
                out.line(line)
            for line in result.statistics:
                out.line(line, style="dim")
    problems, warnings = counts(found)
    out.line(f"\n{problems} problem(s), {warnings} warning(s)")


def counts(found: list[Finding]) -> tuple[int, int]:
    return (sum(1 for f in found if f.status == PROBLEM), sum(1 for f in found if f.status == WARN))


def as_dict(ev: Evidence, found: list[Finding], verbose: bool) -> dict:
    problems, warnings = counts(found)
    return {
        "dialect": ev.dialect,
        "problems": problems,
        "warnings": warnings,
        "findings": [{"status": f.status, "check": f.check, "text": f.text} for f in found],
        "row_counts": ev.row_counts,
        "indexes": [{"name": i.name, "columns": list(i.columns), "unique": i.unique} for i in ev.indexes],
        "duplicates": None if ev.duplicates is None else {"pairs": ev.duplicates[0], "extra": ev.duplicates[1]},
        "plans": [_plan_dict(r.probe.name, r.sql, r.plan, r.error, r.text_plan if verbose else None)
                  for r in ev.probes],
        "queries": [{"name": t.name, "ms": t.ms, "rows": t.rows, "error": t.error} for t in ev.timings],
    }


def _plan_dict(name: str, sql: str, plan: Plan | None, error: str | None, raw: tuple | None) -> dict:
    data: dict = {"query": name, "sql": sql, "error": error}
    if plan is not None:
        data.update({
            "access": [{"table": a.table, "kind": a.kind, "index": a.index, "rows_read": a.rows_read}
                       for a in plan.accesses],
            "sorts": plan.sorts, "execution_ms": plan.execution_ms, "buffers": plan.buffers,
        })
        if raw is not None:
            data["raw"] = list(raw or plan.raw)
    return data

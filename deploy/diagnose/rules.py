"""Pure: what was gathered -> plain-language findings, problems first.

A problem (exit 1): the unique (SellerId, RaterId) index missing or too narrow, duplicate pairs,
an expected index missing, or a rating query reading every row of a large table. Slow queries and
whole-table reads on a small table are warnings.
"""

from __future__ import annotations

from deploy.db.schema_introspect import LiveIndex
from deploy.diagnose.model import OK, PROBLEM, TABLE, WARN, Evidence, Finding, Limits, ProbeResult, Timed
from deploy.diagnose.plans import FULL_SCAN, SEEK

PAIR = ("SellerId", "RaterId")
# (leading columns, status when missing, what goes wrong without it)
EXPECTED = (
    (("SellerId", "CreatedAt"), PROBLEM, "a seller's ratings, newest first, are found and sorted the slow way"),
    (("SellerId",), PROBLEM, "every lookup by seller reads the whole table"),
    (("RaterId",), WARN, "the participation queries and a rater's own ratings read the whole table"),
    (("CreatedAt",), WARN, "the daily and weekly monitoring queries read the whole table"),
)
_ORDER = {PROBLEM: 0, WARN: 1, OK: 2}


def findings(ev: Evidence, limits: Limits = Limits()) -> list[Finding]:
    if not ev.has_table:
        return [Finding(PROBLEM, f"MISSING: table {TABLE} - the rating migration is not applied "
                                 "(invoke deploy.phase1)", "table")]
    rows = ev.row_counts.get(TABLE, 0)
    found = unique_findings(ev.indexes, ev.duplicates, ev.dialect) + index_findings(ev.indexes)
    found += [plan_finding(result, rows, limits) for result in ev.probes]
    found += timing_findings(ev.timings, limits)
    return sorted(found, key=lambda f: _ORDER[f.status])


def has_problem(found: list[Finding]) -> bool:
    return any(f.status == PROBLEM for f in found)


def _cols(index: LiveIndex) -> tuple[str, ...]:
    return tuple(c.lower() for c in index.columns)


def _show(columns: tuple[str, ...]) -> str:
    return f"{TABLE}({', '.join(columns)})"


def unique_findings(indexes: list[LiveIndex], duplicates: tuple[int, int] | None,
                    dialect: str) -> list[Finding]:
    pair = {c.lower() for c in PAIR}
    out = []
    enforcing = [i for i in indexes if i.unique and set(_cols(i)) == pair]
    if enforcing:
        out.append(Finding(OK, f"one rating per rater and seller: unique index {enforcing[0].name} on "
                               f"{_show(enforcing[0].columns)}", "unique"))
    else:
        out.append(Finding(PROBLEM, f"MISSING: unique index on {_show(PAIR)} - duplicate ratings possible",
                           "unique"))
    for index in indexes:
        if index.unique and _cols(index) and set(_cols(index)) < pair:
            who = "a rater may rate only one seller" if _cols(index) == ("raterid",) else \
                "a seller may receive only one rating"
            out.append(Finding(PROBLEM, f"TOO NARROW: unique index {index.name} on {_show(index.columns)}: "
                                        f"{who} - 'Already rated' errors for legitimate ratings", "unique"))
    if duplicates and duplicates[0]:
        pairs, extra = duplicates
        out.append(Finding(PROBLEM, f"DUPLICATES: {pairs:,} (SellerId, RaterId) pair(s) rated more than once "
                                    f"({extra:,} extra rating(s)); remove them before creating the unique index "
                                    f"(sql/{dialect}/diagnose/duplicate-ratings.sql)", "duplicates"))
    return out


def serving(indexes: list[LiveIndex], leading: tuple[str, ...]) -> list[LiveIndex]:
    """Indexes whose first columns are `leading`, in that order."""
    want = tuple(c.lower() for c in leading)
    return [i for i in indexes if _cols(i)[:len(want)] == want]


def index_findings(indexes: list[LiveIndex]) -> list[Finding]:
    out = []
    for leading, status, consequence in EXPECTED:
        found = serving(indexes, leading)
        if found:
            names = ", ".join(i.name for i in found)
            out.append(Finding(OK, f"lookups on {_show(leading)} are served by {names}", "index"))
        else:
            out.append(Finding(status, f"MISSING: index on {_show(leading)} - {consequence}", "index"))
    return out


def plan_finding(result: ProbeResult, rows: int, limits: Limits) -> Finding:
    probe, plan = result.probe, result.plan
    if result.error or plan is None:
        return Finding(WARN, f"could not explain {probe.label}: {result.error or 'no plan'}", "plan")
    accesses = plan.on(TABLE)
    if not accesses:
        return Finding(WARN, f"{probe.label}: the plan does not show how {TABLE} is read", "plan")
    seeks = [a for a in accesses if a.kind == SEEK]
    large = rows >= limits.large_rows
    if seeks:
        used = seeks[0].index or "an index"
        if probe.ordered and plan.sorts and large:
            return Finding(WARN, f"{probe.label} use {used}, then sort: no index gives the CreatedAt order "
                                 f"({probe.expects} is expected)", "plan")
        return Finding(OK, f"{probe.label} use {used}", "plan")
    read = accesses[0]
    how = "a full scan" if read.kind == FULL_SCAN else f"every entry of {read.index}"
    could = _index_only_seek(result)
    if large:
        hint = (f"; {could} could serve them - stale statistics? (ANALYZE {TABLE})" if could
                else f" - {probe.expects} is expected")
        return Finding(PROBLEM, f"SCAN: {probe.label} read all {rows:,} rows of {TABLE} ({how}){hint}", "plan")
    if could:
        return Finding(OK, f"{probe.label} can use {could} (on {rows:,} rows the planner reads the table "
                           "instead, which is cheaper at this size)", "plan")
    return Finding(WARN, f"{probe.label} read the whole table ({rows:,} rows, {how}): no index serves them - "
                         f"{probe.expects} is expected", "plan")


def _index_only_seek(result: ProbeResult) -> str | None:
    if result.index_only is None:
        return None
    seeks = [a for a in result.index_only.on(TABLE) if a.kind == SEEK]
    return (seeks[0].index or "an index") if seeks else None


def timing_findings(timings: list[Timed], limits: Limits) -> list[Finding]:
    out = [Finding(WARN, f"could not time {t.name}: {t.error}", "timing") for t in timings if t.error]
    timed = sorted((t for t in timings if t.ms is not None), key=lambda t: t.ms, reverse=True)
    if not timed:
        return out
    slow = [t for t in timed if t.ms > limits.slow_ms]
    out += [Finding(WARN, f"SLOW: {t.name} takes {milliseconds(t.ms)} (target < {limits.slow_ms:g} ms)",
                    "timing") for t in slow]
    if not slow:
        out.append(Finding(OK, f"slowest of {len(timed)} monitoring and aggregate queries: {timed[0].name} "
                               f"{milliseconds(timed[0].ms)} (target < {limits.slow_ms:g} ms)", "timing"))
    return out


def milliseconds(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:,.1f} ms" if ms < 100 else f"{ms:,.0f} ms"

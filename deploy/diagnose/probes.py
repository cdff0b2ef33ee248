"""Pure: the app's rating queries that db.diagnose explains, and the SQL that explains them.

The queries live in sql/<dialect>/diagnose/ (operators can read and run them by hand; their
parameters are psql-style :names). Values are whole numbers read from the database itself, so
they are written into the text: EXPLAIN and SHOWPLAN then show the very statement that ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploy.db.scripts import pieces, render
from deploy.db.sqltext import CODE, COMMENT, tokens
from deploy.errors import ConfigError
from deploy.monitoring import sqlparams

FOLDER = "diagnose"
PAGE_SIZE = 20       # the API's default page of ratings


@dataclass(frozen=True)
class Probe:
    name: str          # the file's stem
    label: str         # how findings name the query
    expects: str       # what should serve it, for the finding when nothing does
    ordered: bool = False   # the index should also give the order (no sort step)


PROBES = (
    Probe("ratings-by-seller", "SellerRatings lookups by seller", "an index on (SellerId, CreatedAt)",
          ordered=True),
    Probe("can-rate", "can-rate lookups by (SellerId, RaterId)", "the unique index on (SellerId, RaterId)"),
    Probe("seller-aggregates", "seller aggregates by SellerId", "an index starting with SellerId"),
)


def sql_file(sql_root: Path, dialect: str, relative: str) -> str:
    path = Path(sql_root) / dialect / relative
    if not path.is_file():
        raise ConfigError(f"missing SQL file {path}")
    return path.read_text(encoding="utf-8-sig")


def statement(sql_root: Path, dialect: str, name: str) -> str:
    """The one statement of sql/<dialect>/diagnose/<name>.sql, without its leading comments."""
    found = pieces(sql_file(sql_root, dialect, f"{FOLDER}/{name}.sql"), dialect)
    if len(found) != 1:
        raise ConfigError(f"sql/{dialect}/{FOLDER}/{name}.sql: expected one statement, found {len(found)}")
    return strip_leading_comments(found[0], dialect)


def strip_leading_comments(sql: str, dialect: str) -> str:
    for tok in tokens(sql, brackets=dialect == "mssql", dollar=dialect == "postgres"):
        if tok.kind == COMMENT or (tok.kind == CODE and not sql[tok.start:tok.end].strip()):
            continue
        return sql[tok.start:].strip()
    return ""


def inline(sql: str, dialect: str, values: dict[str, int], source: str = "SQL") -> str:
    """Replace each :name with its whole-number value (never text: nothing to quote)."""
    numbers = {k: int(v) for k, v in values.items()}
    marked, params = sqlparams.bind(sql, dialect, numbers, source=source)
    marks = [at for tok in tokens(marked, brackets=dialect == "mssql", dollar=dialect == "postgres")
             if tok.kind == CODE for at in range(tok.start, tok.end) if marked[at] == "?"]
    if len(marks) != len(params):
        raise ConfigError(f"{source}: a '?' outside strings that is not a :name parameter")
    out, last = [], 0
    for at, value in zip(marks, params):
        out += [marked[last:at], str(value)]
        last = at + 1
    out.append(marked[last:])
    return "".join(out)


def probe_sql(sql_root: Path, dialect: str, probe: Probe, seller_id: int, rater_id: int) -> str:
    values = {"seller_id": seller_id, "rater_id": rater_id, "limit": PAGE_SIZE}
    text = statement(sql_root, dialect, probe.name)
    return inline(text, dialect, values, source=f"sql/{dialect}/{FOLDER}/{probe.name}.sql")


# -- the explaining text, per dialect ------------------------------------------------------------
def explain_pieces(dialect: str, sql: str) -> list[str]:
    """What runs to get a plan: PostgreSQL executes the query (ANALYZE) and counts buffers;
    SQLite and SQL Server only plan it (SHOWPLAN_TEXT must be alone in its batch)."""
    if dialect == "postgres":
        return [f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"]
    if dialect == "sqlite":
        return [f"EXPLAIN QUERY PLAN {sql}"]
    return ["SET SHOWPLAN_TEXT ON", sql, "SET SHOWPLAN_TEXT OFF"]


def text_plan_pieces(dialect: str, sql: str) -> list[str]:
    """--verbose: the plan as people read it (PostgreSQL's text format; the others are text)."""
    if dialect == "postgres":
        return [f"EXPLAIN (ANALYZE, BUFFERS) {sql}"]
    return explain_pieces(dialect, sql)


def index_only_pieces(sql: str) -> list[str]:
    """PostgreSQL: the plan with sequential scans priced out - can an index serve the query at
    all? (On a small table the planner rightly prefers reading it; this tells the two apart.)"""
    return ["SET enable_seqscan = off", f"EXPLAIN (FORMAT JSON) {sql}", "RESET enable_seqscan"]


def statistics_pieces(sql: str) -> list[str]:
    """SQL Server: run the query with its reads and times reported (the runbook's SET STATISTICS)."""
    return ["SET STATISTICS IO, TIME ON", sql, "SET STATISTICS IO, TIME OFF"]


def script(dialect: str, parts: list[str]) -> str:
    """Pieces as one script a person can run (GO between T-SQL batches)."""
    return render(parts, dialect)

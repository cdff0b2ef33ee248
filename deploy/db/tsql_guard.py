"""Pure: find PostgreSQL/SQLite/MySQL-only syntax in T-SQL text, with its line.

No SQL Server runs where this project is tested, and the lenient T-SQL readers available here
(sqlglot's, sqlfluff's) accept LIMIT, `::` casts, ILIKE, ON CONFLICT, RETURNING, SERIAL and
ADD COLUMN. This guard refuses what other dialects allow and SQL Server does not. It reads code
only: strings, comments and [bracketed] / "quoted" identifiers are blanked first with the same
lexer the GO splitter uses (deploy.db.sqltext), so `'LIMIT'` or `-- ADD COLUMN` is never a finding.

It is a list of known mistakes, not a T-SQL parser: what it does not name can still be wrong.
It errs on the strict side: a column named like one of these words (Limit, Offset) is a finding
until it is written [bracketed], and "x" right after `=` / LIKE / IN ( / VALUES ( is taken for a
string that wanted single quotes (a "qualifier". before a column is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deploy.db.sqltext import CODE, COMMENT, IDENT, STRING, tokens
from deploy.errors import ConfigError

_F = re.IGNORECASE
# `X::` that is T-SQL: securable classes (GRANT ... ON SCHEMA::dbo) and CLR types' static methods
_SCOPE = re.compile(r"\b(?:schema|object|type|role|assembly|certificate|database|login|user|endpoint|"
                    r"contract|service|route|fulltext\s+catalog|collection|asymmetric\s+key|symmetric\s+key|"
                    r"message\s+type|remote\s+service\s+binding|server\s+role|application\s+role|"
                    r"availability\s+group|geography|geometry|hierarchyid)\s*$", _F)


@dataclass(frozen=True)
class Rule:
    name: str           # the construct, as a reader would name it
    pattern: re.Pattern
    instead: str        # what SQL Server wants


RULES: tuple[Rule, ...] = (
    Rule("LIMIT", re.compile(r"\bLIMIT\b", _F), "TOP (n), or ORDER BY ... OFFSET m ROWS FETCH NEXT n ROWS ONLY"),
    Rule("OFFSET without ROWS", re.compile(r"\bOFFSET\b(?!\s+(?:\(.*?\)|[^\s;()]+)\s+ROWS?\b)", _F),
         "ORDER BY ... OFFSET m ROWS FETCH NEXT n ROWS ONLY"),
    Rule("FETCH FIRST/NEXT without OFFSET", re.compile(
        r"\bFETCH\s+(?:FIRST|NEXT)\s+(?!FROM\b)(?:\(.*?\)|[^\s;()]+)\s+ROWS?\s+ONLY\b", _F),
        "OFFSET m ROWS FETCH NEXT n ROWS ONLY (OFFSET is required)"),
    Rule(":: cast", re.compile(r"::", _F), "CAST(x AS type) or CONVERT(type, x)"),
    Rule("ILIKE", re.compile(r"\bILIKE\b", _F), "LIKE (case follows the column's collation)"),
    Rule("SIMILAR TO", re.compile(r"\bSIMILAR\s+TO\b", _F), "LIKE with [ ] patterns"),
    Rule("ON CONFLICT", re.compile(r"\bON\s+CONFLICT\b", _F), "MERGE, or IF NOT EXISTS (...) INSERT"),
    Rule("ON DUPLICATE KEY", re.compile(r"\bON\s+DUPLICATE\s+KEY\b", _F), "MERGE"),
    Rule("INSERT OR IGNORE/REPLACE", re.compile(r"\bINSERT\s+OR\s+(?:IGNORE|REPLACE)\b", _F), "MERGE"),
    Rule("RETURNING", re.compile(r"\bRETURNING\b", _F), "OUTPUT INSERTED.col / DELETED.col"),
    Rule("SERIAL", re.compile(r"\b(?:SMALL|BIG)?SERIAL\b", _F), "INT IDENTITY(1, 1)"),
    Rule("AUTOINCREMENT", re.compile(r"\bAUTO_?INCREMENT\b", _F), "IDENTITY(1, 1)"),
    Rule("GENERATED AS IDENTITY", re.compile(r"\bGENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b", _F),
         "IDENTITY(1, 1)"),
    Rule("ADD COLUMN", re.compile(r"\bADD\s+COLUMN\b", _F), "ALTER TABLE t ADD c type (no COLUMN keyword)"),
    Rule("CREATE ... IF NOT EXISTS", re.compile(
        r"\bCREATE\s+(?:UNIQUE\s+)?(?:(?:NON)?CLUSTERED\s+)?(?:TABLE|INDEX|SCHEMA|VIEW|SEQUENCE)\s+IF\s+NOT\s+EXISTS\b",
        _F), "IF OBJECT_ID(N'dbo.t', N'U') IS NULL CREATE TABLE ... / IF NOT EXISTS (SELECT ... sys.indexes)"),
    Rule("CREATE OR REPLACE", re.compile(r"\bCREATE\s+OR\s+REPLACE\b", _F), "CREATE OR ALTER"),
    Rule("NOW()", re.compile(r"\bNOW\s*\(", _F), "SYSUTCDATETIME() or SYSDATETIMEOFFSET()"),
    Rule("boolean literal", re.compile(r"\b(?:TRUE|FALSE)\b", _F), "1 / 0 (BIT)"),
    Rule("BOOLEAN type", re.compile(r"\bBOOL(?:EAN)?\b", _F), "BIT"),
    Rule("PostgreSQL type", re.compile(r"\b(?:TIMESTAMPTZ|JSONB|BYTEA|TIMESTAMP\s+WITH(?:OUT)?\s+TIME\s+ZONE)\b", _F),
         "DATETIME2 / DATETIMEOFFSET / NVARCHAR(MAX) / VARBINARY(MAX)"),
    Rule("INTERVAL literal", re.compile(r"\bINTERVAL\s+'", _F), "DATEADD(unit, n, date)"),
    Rule("DISTINCT ON", re.compile(r"\bDISTINCT\s+ON\s*\(", _F), "ROW_NUMBER() OVER (PARTITION BY ...) = 1"),
    Rule("|| concatenation", re.compile(r"\|\|", _F), "+ or CONCAT(...)"),
    Rule("SQLite date function", re.compile(r"\b(?:strftime|julianday)\s*\(|\b(?:datetime|date)\s*\(\s*'", _F),
         "SYSUTCDATETIME(), DATEPART, CONVERT"),
    Rule("PRAGMA", re.compile(r"\bPRAGMA\b", _F), "sys.* catalog views"),
    Rule("backquoted identifier", re.compile(r"`", _F), "[brackets]"),
)

DOUBLE_QUOTED = Rule('"double-quoted" string', re.compile(r'"'),
                     "'single quotes' (N'...'); \"x\" is an identifier in T-SQL")
# a "quoted" token right after these is in a value's place: 'text' was meant, not an identifier
_VALUE_BEFORE = re.compile(r"(?:[=<>]|\bLIKE|\bTHEN|\bELSE|\bIN\s*\(|\bVALUES\s*\(|\bN)\s*$", _F)


@dataclass(frozen=True)
class Finding:
    line: int
    rule: Rule
    text: str           # the offending text as written

    def __str__(self) -> str:
        return f"{self.rule.name} ({self.text.strip()}) is not T-SQL - use {self.rule.instead}"

    def at(self, source: str) -> str:
        """One line, compiler style: `source:line: what - use what instead`."""
        return f"{source}:{self.line}: {self}"


def check(text: str) -> list[Finding]:
    """Every PostgreSQL/SQLite/MySQL-only construct in text's code, in order of position."""
    code = code_only(text)
    found = []
    for rule in RULES:
        for match in rule.pattern.finditer(code):
            if _allowed(rule, code, match.start()):
                continue
            found.append((match.start(), Finding(_line(text, match.start()), rule, text[match.start():match.end()])))
    for tok in tokens(text, brackets=True):
        if tok.kind == IDENT and text[tok.start] == '"' and _string_meant(text, code, tok.start, tok.end):
            found.append((tok.start, Finding(_line(text, tok.start), DOUBLE_QUOTED, text[tok.start:tok.end])))
    return [f for _, f in sorted(found, key=lambda pair: pair[0])]


def refuse(text: str, source: str) -> None:
    """ConfigError (exit 2, one line) naming source, line and construct of the first finding."""
    found = check(text)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ConfigError(found[0].at(source) + more)


def code_only(text: str) -> str:
    """text with strings, comments and identifiers blanked (same length, newlines kept), so a
    pattern can only match code. Strings keep their quotes: `INTERVAL '1 day'` stays visible.
    :name placeholders (sqlparams binds them) are blanked too: `TOP (:limit)` is not LIMIT."""
    out = []
    for tok in tokens(text, brackets=True):
        piece = text[tok.start:tok.end]
        if tok.kind == CODE:    # the project's :name placeholders (bound before running) are not code
            out.append(_PLACEHOLDER.sub(lambda m: _blank(m.group(0)), piece))
        elif tok.kind == STRING:
            out.append(piece[0] + _blank(piece[1:-1]) + piece[-1] if len(piece) >= 2 else _blank(piece))
        elif tok.kind in (IDENT, COMMENT):
            out.append(_blank(piece))
    return "".join(out)


def _allowed(rule: Rule, code: str, start: int) -> bool:
    """The T-SQL uses of what a rule's pattern matches."""
    if rule.name == ":: cast":          # GRANT ... ON SCHEMA::dbo, geography::Point(...)
        return bool(_SCOPE.search(code, 0, start))
    if rule.name.startswith("FETCH"):   # OFFSET m ROWS FETCH NEXT n ROWS ONLY
        return bool(_AFTER_OFFSET.search(code, 0, start))
    return False


_AFTER_OFFSET = re.compile(r"\bOFFSET\s+(?:\(.*?\)|[^\s;()]+)\s+ROWS?\s*$", _F)


_PLACEHOLDER = re.compile(r"(?<![:\w]):[A-Za-z_]\w*")


def _blank(piece: str) -> str:
    return re.sub(r"[^\n]", " ", piece)


def _string_meant(text: str, code: str, start: int, end: int) -> bool:
    """A "quoted" token is a string by mistake when it sits where a value goes and is not a
    qualifier (`"u".Id`), or when it holds what no identifier would (%, leading blanks)."""
    body = text[start + 1:end - 1]
    if not body or "%" in body or body != body.strip():
        return True
    if code[end:end + 1] == ".":
        return False
    return bool(_VALUE_BEFORE.search(code, max(0, start - 40), start))


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1

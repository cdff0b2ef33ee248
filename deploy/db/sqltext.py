"""Pure lexing of SQL text: where code is, and where strings, identifiers and comments are.

Enough SQL to split scripts safely, not a parser: 'strings' (with '' escapes), "identifiers",
[bracketed identifiers] (T-SQL), $tag$ dollar quotes (PostgreSQL), -- line comments and
/* nested */ block comments. An unterminated token runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

CODE, STRING, IDENT, COMMENT = "code", "string", "ident", "comment"
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int


def tokens(text: str, brackets: bool = False, dollar: bool = False) -> Iterator[Token]:
    """Split text into CODE / STRING / IDENT / COMMENT runs that cover it end to end."""
    i, n, code_start = 0, len(text), 0
    while i < n:
        end, kind = _special(text, i, brackets, dollar)
        if end is None:
            i += 1
            continue
        if code_start < i:
            yield Token(CODE, code_start, i)
        yield Token(kind, i, end)
        i = code_start = end
    if code_start < n:
        yield Token(CODE, code_start, n)


def _special(text: str, i: int, brackets: bool, dollar: bool) -> tuple[int | None, str]:
    """If a non-code token starts at i, its end and kind."""
    c = text[i]
    two = text[i:i + 2]
    if two == "--":
        nl = text.find("\n", i)
        return (len(text) if nl < 0 else nl), COMMENT
    if two == "/*":
        return _block_comment_end(text, i), COMMENT
    if c == "'":
        return _quoted_end(text, i, "'"), STRING
    if c == '"':
        return _quoted_end(text, i, '"'), IDENT
    if c == "[" and brackets:
        return _quoted_end(text, i, "]"), IDENT
    if c == "$" and dollar and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
        m = _DOLLAR.match(text, i)
        if m:
            close = text.find(m.group(0), m.end())
            return (len(text) if close < 0 else close + len(m.group(0))), STRING
    return None, CODE


def _quoted_end(text: str, i: int, close: str) -> int:
    j = i + 1
    while True:
        k = text.find(close, j)
        if k < 0:
            return len(text)
        if text[k + 1:k + 2] == close:  # doubled: an escaped quote
            j = k + 2
            continue
        return k + 1


def _block_comment_end(text: str, i: int) -> int:
    depth, j = 0, i
    while j < len(text):
        two = text[j:j + 2]
        if two == "/*":
            depth, j = depth + 1, j + 2
        elif two == "*/":
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    return len(text)


def only_comments(text: str, brackets: bool = False) -> bool:
    """True when text holds nothing but whitespace and comments."""
    return all(t.kind == COMMENT or not text[t.start:t.end].strip()
               for t in tokens(text, brackets=brackets))


def split_statements(text: str, dialect: str = "postgres") -> list[str]:
    """Split a script on top-level semicolons; empty and comment-only pieces are dropped.

    Statements keep no trailing semicolon. Not for bodies that contain semicolons themselves
    (SQLite triggers, T-SQL blocks): T-SQL goes through tsql.split_batches instead.
    """
    pieces, start = [], 0
    for tok in tokens(text, brackets=dialect == "mssql", dollar=dialect == "postgres"):
        if tok.kind != CODE:
            continue
        j = text.find(";", tok.start, tok.end)
        while j >= 0:
            pieces.append(text[start:j])
            start = j + 1
            j = text.find(";", start, tok.end)
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip() and not only_comments(p)]

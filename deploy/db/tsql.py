"""Pure: split T-SQL scripts into batches on GO lines, as sqlcmd does.

GO is a client-side separator, not T-SQL: alone on its line (any case, surrounding blanks), with
an optional repeat count (`GO 3` sends the batch three times) and an optional `-- comment`.
A GO inside a string, a comment or a [bracketed identifier] is text, and so are GOTO and GO_x.
"""

from __future__ import annotations

import re

from deploy.db.sqltext import CODE, only_comments, tokens
from deploy.errors import ConfigError

_GO = re.compile(r"[ \t]*go(?:[ \t]+(\d+))?[ \t]*(?:--[^\n]*)?\r?", re.IGNORECASE)


def split_batches(text: str) -> list[str]:
    """The batches to send, in order; `GO n` repeats its batch n times; empty batches dropped."""
    batches: list[str] = []
    start = 0
    for line_start, line_end, count in _go_lines(text):
        _add(batches, text[start:line_start], count)
        start = line_end
    _add(batches, text[start:], 1)
    return batches


def join_batches(batches: list[str]) -> str:
    """The script form of batches: each followed by a GO line (what --dry-run prints)."""
    return "".join(f"{b.rstrip()}\nGO\n" for b in batches)


def _add(batches: list[str], body: str, count: int) -> None:
    body = body.strip("\r\n")
    if body.strip() and not only_comments(body, brackets=True):
        batches.extend([body] * count)


def _go_lines(text: str):
    """(start, end-after-newline, repeat count) of every GO separator line."""
    inside = [(t.start, t.end) for t in tokens(text, brackets=True) if t.kind != CODE]
    pos = 0
    while pos <= len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        match = _GO.fullmatch(text, pos, end)
        if match and not _within(inside, pos):
            count = int(match.group(1)) if match.group(1) else 1
            if count < 1:
                raise ConfigError(f"`GO {match.group(1)}` at line {text.count(chr(10), 0, pos) + 1}: "
                                  "the repeat count must be at least 1")
            yield pos, (end + 1 if nl >= 0 else end), count
        if nl < 0:
            break
        pos = nl + 1


def _within(intervals: list[tuple[int, int]], pos: int) -> bool:
    # a line start strictly inside a string, identifier or comment is not a line of code
    return any(s < pos < e for s, e in intervals)

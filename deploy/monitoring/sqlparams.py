"""Pure: the monitoring SQL files name their parameters (:since, :now, :limit); drivers want `?`.

A name may appear more than once (bound once per use). Placeholders inside strings, quoted
identifiers and comments are left alone, and so are PostgreSQL casts (`x::date`). The names
double as psql variables, so a file can be run by hand: `psql -v since="'2024-01-01'" -f ...`.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from deploy.db.sqltext import CODE, tokens
from deploy.errors import ConfigError

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)(?!:)")


def names(sql: str, dialect: str) -> list[str]:
    """The placeholder names in order of appearance (repeats included)."""
    return [name for name, _, _ in _placeholders(sql, dialect)]


def bind(sql: str, dialect: str, values: Mapping[str, Any], source: str = "SQL") -> tuple[str, list[Any]]:
    """Replace each :name with ? and return the parameters in order; a missing name is a ConfigError."""
    out, params, last = [], [], 0
    for name, start, end in _placeholders(sql, dialect):
        if name not in values:
            raise ConfigError(f"{source}: uses :{name} but no value is given for it")
        out += [sql[last:start], "?"]
        params.append(values[name])
        last = end
    out.append(sql[last:])
    return "".join(out), params


def _placeholders(sql: str, dialect: str) -> Iterator[tuple[str, int, int]]:
    for tok in tokens(sql, brackets=dialect == "mssql", dollar=dialect == "postgres"):
        if tok.kind == CODE:
            for match in _PLACEHOLDER.finditer(sql, tok.start, tok.end):
                yield match.group(1), match.start(), match.end()

"""Pure: the Prometheus text exposition format (0.0.4) -> samples.

Enough of the format for any exporter: # HELP / # TYPE and other comments are skipped, label
values may hold escaped \\, \" and \n, values may be +Inf/-Inf/NaN, an optional timestamp may
follow. A malformed line is a MetricsFormatError naming its line number, never a silent skip.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}

Labels = tuple[tuple[str, str], ...]


class MetricsFormatError(ValueError):
    """The text is not in the Prometheus text format."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Labels
    value: float

    def label(self, name: str, default: str = "") -> str:
        return dict(self.labels).get(name, default)


def parse(text: str) -> list[Sample]:
    samples = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            samples.append(_sample(line))
        except MetricsFormatError as exc:
            raise MetricsFormatError(f"line {number}: {exc}") from None
    return samples


def _sample(line: str) -> Sample:
    name_match = _NAME.match(line)
    if not name_match:
        raise MetricsFormatError(f"no metric name in {line[:60]!r}")
    pos = name_match.end()
    labels: Labels = ()
    if line[pos:pos + 1] == "{":
        labels, pos = _labels(line, pos + 1)
    rest = line[pos:].split()
    if not rest or len(rest) > 2:
        raise MetricsFormatError(f"expected a value (and optional timestamp) in {line[:60]!r}")
    return Sample(name_match.group(0), labels, _value(rest[0]))


def _labels(line: str, pos: int) -> tuple[Labels, int]:
    pairs: list[tuple[str, str]] = []
    while True:
        while line[pos:pos + 1] in (" ", ","):
            pos += 1
        if line[pos:pos + 1] == "}":
            return tuple(pairs), pos + 1
        if pos >= len(line):
            raise MetricsFormatError("unterminated label set (no closing })")
        match = _LABEL_NAME.match(line, pos)
        if not match or line[match.end():match.end() + 2] != '="':
            raise MetricsFormatError(f"bad label at column {pos + 1}")
        value, pos = _quoted(line, match.end() + 2)
        pairs.append((match.group(0), value))


def _quoted(line: str, pos: int) -> tuple[str, int]:
    out = []
    while pos < len(line):
        c = line[pos]
        if c == "\\":
            out.append(_ESCAPES.get(line[pos + 1:pos + 2], line[pos:pos + 2]))
            pos += 2
        elif c == '"':
            return "".join(out), pos + 1
        else:
            out.append(c)
            pos += 1
    raise MetricsFormatError("unterminated label value")


def _value(text: str) -> float:
    special = {"+inf": math.inf, "inf": math.inf, "-inf": -math.inf, "nan": math.nan}
    if text.lower() in special:
        return special[text.lower()]
    try:
        return float(text)
    except ValueError:
        raise MetricsFormatError(f"{text!r} is not a number") from None


# -- selecting ---------------------------------------------------------------------------------------
def select(samples: Iterable[Sample], name: str,
           where: Callable[[Sample], bool] | None = None) -> list[Sample]:
    return [s for s in samples if s.name == name and (where is None or where(s))]


def total(samples: Iterable[Sample], name: str, where: Callable[[Sample], bool] | None = None) -> float:
    return sum(s.value for s in select(samples, name, where))

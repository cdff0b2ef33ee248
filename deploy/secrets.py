"""Secret values: resolved once, printed as *** everywhere.

A `Secret` never shows its value through str(), repr() or format(); only `reveal()` gives it,
and only the code that hands it to a process, a connection or a file calls that. Every revealed
value is also registered with `mask()`, the last line of defence applied to any text we print
or journal (remote output, exception messages, --json).
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_known: set[str] = set()
_lock = threading.Lock()
# Values this short would mask ordinary words; config load rejects shorter secrets.
MIN_SECRET_LENGTH = 4


class Secret:
    """A value that prints as *** and must be revealed explicitly.

    `shown` is what it prints instead when only part of it is secret: a connection string built
    from a plain user name and a secret password prints as `...;Uid=sa;Pwd=***` (deploy.config.refs
    builds it from the file's own text and plain values only, never from a secret).
    """

    __slots__ = ("_value", "name", "shown")

    def __init__(self, value: str, name: str = "", shown: str = MASK):
        self._value = value
        self.name = name
        self.shown = shown
        register(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return self.shown

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return self.shown

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)


def register(value: str) -> None:
    """Remember a secret value so that `mask()` hides it in any text."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _known.add(value)


def mask(text: str) -> str:
    """Replace every registered secret value in text with ***."""
    if not text or not _known:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    pattern = "|".join(re.escape(v) for v in values)
    return re.sub(pattern, MASK, text)


def reveal(value: object) -> str:
    """The real text of a str or Secret (for the few places that hand it on)."""
    return value.reveal() if isinstance(value, Secret) else str(value)


def mask_data(value: object) -> object:
    """Mask every string inside dicts, lists and tuples (before they are serialised: a secret
    escaped by JSON - quotes, backslashes, non-ASCII - would no longer match `mask`)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Secret):
        return mask(str(value))
    if isinstance(value, dict):
        return {mask_data(k): mask_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(v) for v in value]
    return value

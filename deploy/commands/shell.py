"""The one quoting helper: every remote command is built from parts here.

A `Command` holds parts; plain strings and secrets are quoted with shlex, `Op` parts (pipes,
`&&`, redirections) are kept as they are. `str(cmd)` masks secrets (for logs, dry-run, --json),
`cmd.render()` gives the text a shell runs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Iterable, Union

from deploy.secrets import MASK, Secret


@dataclass(frozen=True)
class Op:
    """A shell operator or redirection kept verbatim: |, &&, ||, ;, >, 2>&1 ..."""

    text: str


@dataclass(frozen=True)
class Script:
    """A program's text as one argument (`python3 -c TEXT`): run in full, shown as <name>."""

    name: str
    text: str = field(repr=False)


Part = Union[str, int, Secret, Op, Script, "Command"]
AND = Op("&&")
OR = Op("||")
PIPE = Op("|")
SEMI = Op(";")


@dataclass(frozen=True)
class Command:
    parts: tuple

    def render(self) -> str:
        """The command line with secrets revealed (only for execution)."""
        return " ".join(_render(p, reveal=True) for p in self.parts)

    def __str__(self) -> str:
        return " ".join(_render(p, reveal=False) for p in self.parts)

    def then(self, other: "Command") -> "Command":
        return Command(self.parts + (AND,) + other.parts)


def _render(part: Part, reveal: bool) -> str:
    if isinstance(part, Op):
        return part.text
    if isinstance(part, Command):
        text = part.render() if reveal else str(part)
        return shlex.quote(text)  # a nested command is one argument (e.g. sh -c)
    if isinstance(part, Script):
        return shlex.quote(part.text) if reveal else f"<{part.name}>"
    if isinstance(part, Secret):
        return shlex.quote(part.reveal()) if reveal else MASK
    return shlex.quote(str(part))


def cmd(*parts: Part) -> Command:
    """Build a command from parts; each non-Op part is one quoted argument."""
    return Command(tuple(parts))


def chain(commands: Iterable[Command], op: Op = AND) -> Command:
    """Join commands with an operator (default &&)."""
    out: tuple = ()
    for c in commands:
        out = out + ((op,) if out else ()) + c.parts
    return Command(out)


def sh(command: Command) -> Command:
    """Wrap a compound command as `sh -c '...'` so it runs as one unit (e.g. under sudo)."""
    return cmd("sh", "-c", command)

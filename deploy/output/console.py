"""Human output (rich) and the --json summary for CI. Everything printed goes through mask()."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from deploy.secrets import Secret, mask, mask_data

MARKS = {"pass": ("✔", "green"), "fail": ("✘", "red"), "warn": ("!", "yellow"), "skip": ("-", "dim")}


def _default(value: Any) -> Any:
    if isinstance(value, Secret):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(value)


def to_json(data: Any) -> str:
    # mask the values first (JSON escaping could hide a secret from the text mask), then the text
    plain = json.loads(json.dumps(data, default=_default))
    return mask(json.dumps(mask_data(plain), indent=2, sort_keys=False))


@dataclass
class Output:
    """One per task run: human text to the terminal, or one JSON document at the end."""

    json_mode: bool = False
    # a pipe or CI log is not 80 columns wide: keep tables readable there
    console: Console = field(default_factory=lambda: Console(
        highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160))
    err_console: Console = field(default_factory=lambda: Console(stderr=True, highlight=False, soft_wrap=True))

    def line(self, text: str = "", style: str | None = None) -> None:
        if not self.json_mode:
            self.console.print(Text(mask(text), style=style or ""))

    def info(self, text: str) -> None:
        """Progress notes: to stderr in JSON mode so stdout stays one JSON document."""
        target = self.err_console if self.json_mode else self.console
        target.print(mask(text), markup=False, style="dim" if not self.json_mode else None)

    def error(self, text: str) -> None:
        self._stderr().print(f"error: {mask(text)}", markup=False, style="bold red")

    def warn(self, text: str) -> None:
        self._stderr().print(f"warning: {mask(text)}", markup=False, style="yellow")

    def traceback(self, exc: BaseException) -> None:
        """The exception's traceback on stderr, masked (for --debug)."""
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._stderr().print(mask(text.rstrip()), markup=False, highlight=False)

    def _stderr(self) -> Console:
        """stderr; while a progress status is drawn on the same terminal, through its console, so
        the line goes above the status instead of through it."""
        from deploy.output import progress

        if progress.live_on(self.console) and progress.same_terminal():
            return self.console
        return self.err_console

    def table(self, title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
        if self.json_mode:
            return
        table = Table(title=title, title_justify="left", show_lines=False)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(mask("" if v is None else str(v)) for v in row))
        self.console.print(table)

    def section(self, title: str) -> None:
        if not self.json_mode:
            self.console.print(Text(mask(title), style="bold"))

    def item(self, status: str, name: str, detail: str = "") -> None:
        """One checklist row: a mark per status, the name, the reason dimmed."""
        if self.json_mode:
            return
        mark, style = MARKS.get(status, ("-", "dim"))
        row = Text("  ")
        row.append(mark, style=style)
        row.append(f" {mask(name)}")
        if detail:
            row.append(f"  {mask(detail)}", style="dim")
        self.console.print(row)

    def emit_json(self, document: dict) -> None:
        sys.stdout.write(to_json(document) + "\n")
        sys.stdout.flush()

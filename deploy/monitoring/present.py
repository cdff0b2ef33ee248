"""Tables to the terminal (rich, via Output) or CSV to stdout; nothing is printed in --json mode."""

from __future__ import annotations

import sys

from deploy.monitoring import tabular
from deploy.monitoring.tabular import Table
from deploy.output.console import Output


def show(out: Output, tables: list[Table], fmt: str) -> None:
    if out.json_mode:
        return
    if fmt == "csv":
        sys.stdout.write(tabular.to_csv(tables))
        sys.stdout.flush()
        return
    for table in tables:
        out.table(table.title, table.columns, [[tabular.cell(v) for v in row] for row in table.rows])
        if not table.rows:
            out.line("  (none)")

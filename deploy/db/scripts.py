"""Pure: a SQL script as the pieces a driver executes one by one, and back to script text."""

from __future__ import annotations

from deploy.db.sqltext import COMMENT, split_statements, tokens
from deploy.db.tsql import join_batches, split_batches

# Transactions are SQL text, so a rendered script shows them. XACT_ABORT makes any runtime error
# end the whole T-SQL transaction instead of only the failing statement.
BEGIN = {"sqlite": "BEGIN IMMEDIATE", "postgres": "BEGIN",
         "mssql": "SET XACT_ABORT ON; BEGIN TRANSACTION"}
COMMIT = {"sqlite": "COMMIT", "postgres": "COMMIT", "mssql": "COMMIT TRANSACTION"}
ROLLBACK = {"sqlite": "ROLLBACK", "postgres": "ROLLBACK", "mssql": "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION"}


def pieces(text: str, dialect: str) -> list[str]:
    """T-SQL: batches split on GO lines; sqlite/postgres: statements split on top-level ';'."""
    return split_batches(text) if dialect == "mssql" else split_statements(text, dialect)


def render(parts: list[str], dialect: str) -> str:
    """Script text that runs the same pieces: GO after each T-SQL batch, ';' after statements."""
    if dialect == "mssql":
        return join_batches(parts)
    return "".join(_terminated(p) for p in parts)


def _terminated(piece: str) -> str:
    body = piece.rstrip().rstrip(";").rstrip()
    last = list(tokens(body, dollar=True))[-1:] if body else []
    # a ';' after a trailing -- comment would be part of the comment: put it on its own line
    return f"{body}\n;\n" if last and last[0].kind == COMMENT else f"{body};\n"


def literal(value: object, dialect: str) -> str:
    """A SQL literal for text or numbers we render into scripts (history rows, file paths)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if dialect == "postgres" else ("1" if value else "0")
    if isinstance(value, (int, float)):
        return repr(value)
    quoted = "'" + str(value).replace("'", "''") + "'"
    return "N" + quoted if dialect == "mssql" else quoted

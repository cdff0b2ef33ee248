"""DATABASE_URL: what it points at, which dialect it speaks, and how to print it safely."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PASSWORD = re.compile(r"(?i)(\b(?:pwd|password)\s*=\s*)(\{[^}]*\}|[^;]*)")
_DRIVER = re.compile(r"(?i)\bdriver\s*=\s*(\{[^}]*\}|[^;]*)")


class DatabaseUrlError(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseTarget:
    dialect: str  # sqlite | postgres | mssql
    sqlite_path: str | None = None
    odbc: str | None = None

    def masked(self) -> str:
        return f"sqlite://{self.sqlite_path}" if self.sqlite_path else mask(self.odbc or "")

    def __repr__(self) -> str:
        return f"DatabaseTarget(dialect={self.dialect!r}, url={self.masked()!r})"


def mask(url: str) -> str:
    return _PASSWORD.sub(lambda m: m.group(1) + "***", url)


def parse(url: str) -> DatabaseTarget:
    url = url.strip()
    if not url:
        raise DatabaseUrlError("is empty")
    if url.lower().startswith("sqlite:"):
        path = url[len("sqlite:"):]
        if not path.startswith("//"):
            raise DatabaseUrlError("sqlite URLs look like sqlite:///absolute/path.db")
        # Accept both sqlite:///tmp/x.db and SQLAlchemy's sqlite:////tmp/x.db.
        path = "/" + path.lstrip("/")
        if path == "/" or path.endswith("/"):
            raise DatabaseUrlError("sqlite URL names no file")
        # A relative path would resolve inside the release folder, which changes per deploy.
        return DatabaseTarget("sqlite", sqlite_path=path)
    match = _DRIVER.search(url)
    if not match:
        raise DatabaseUrlError("expected sqlite:///path or an ODBC string with DRIVER={...}")
    driver = match.group(1).strip("{} ").lower()
    if "postgres" in driver:
        return DatabaseTarget("postgres", odbc=url)
    if "sql server" in driver or "freetds" in driver or "sqlserver" in driver:
        return DatabaseTarget("mssql", odbc=url)
    raise DatabaseUrlError(f"unsupported ODBC driver {match.group(1).strip()!r} (need PostgreSQL or SQL Server)")

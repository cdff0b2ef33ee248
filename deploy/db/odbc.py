"""Pure: read and rewrite ODBC connection strings (KEY=value;KEY={braced;value};...)."""

from __future__ import annotations

import re

_PAIR = re.compile(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)")


def parse(text: str) -> dict[str, str]:
    """Keys upper-cased, braces removed: 'DRIVER={X};Server=h' -> {'DRIVER': 'X', 'SERVER': 'h'}."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if not m or m.end() == pos:
            break
        value = m.group(2)
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1].replace("}}", "}")
        out[m.group(1).strip().upper()] = value
        pos = m.end()
    return out


def first(params: dict[str, str], *keys: str, default: str | None = None) -> str | None:
    for key in keys:
        if params.get(key.upper()):
            return params[key.upper()]
    return default


def password(text: str) -> str | None:
    return first(parse(text), "PWD", "PASSWORD")


def postgres_params(text: str) -> dict[str, str]:
    """host, port, dbname, user, password (libpq names) from a psqlODBC string."""
    p = parse(text)
    return {
        "host": first(p, "SERVER", "SERVERNAME", "HOST", default="localhost"),
        "port": first(p, "PORT", default="5432"),
        "dbname": first(p, "DATABASE", "DBNAME", default=""),
        "user": first(p, "UID", "USERNAME", "USER", default=""),
        "password": first(p, "PWD", "PASSWORD", default=""),
    }


def driver_kind(text: str) -> str:
    """'freetds', 'msodbc', 'psqlodbc' or 'other' from the DRIVER= value."""
    driver = (parse(text).get("DRIVER") or "").lower()
    if "freetds" in driver or "tds" == driver:
        return "freetds"
    if "sql server" in driver:
        return "msodbc"
    if "postgres" in driver:
        return "psqlodbc"
    return "other"


def with_server(text: str, dialect: str, host: str, port: int) -> str:
    """The same connection string pointed at host:port (the SSH-tunnel hook uses this)."""
    kept = [f"{k}={{{v}}}" if k == "DRIVER" else f"{k}={_brace(v)}" for k, v in parse(text).items()
            if k not in ("SERVER", "SERVERNAME", "HOST", "PORT", "ADDRESS", "ADDR")]
    if dialect == "postgres":
        kept += [f"Server={host}", f"Port={port}"]
    elif driver_kind(text) == "freetds":
        kept += [f"Server={host}", f"Port={port}"]
    else:
        kept.append(f"Server=tcp:{host},{port}")
    return ";".join(kept) + ";"


def _brace(value: str) -> str:
    if any(c in value for c in ";{}") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def server_address(text: str, dialect: str) -> tuple[str, int]:
    """(host, port) the string points at: psqlODBC Server+Port, SQL Server 'tcp:host,port'."""
    p = parse(text)
    server = first(p, "SERVER", "SERVERNAME", "HOST", "ADDRESS", default="localhost")
    if dialect == "postgres":
        return server, int(first(p, "PORT", default="5432"))
    server = server.removeprefix("tcp:")
    if "," in server:
        host, port = server.rsplit(",", 1)
        return host, int(port)
    return server.split("\\")[0], int(first(p, "PORT", default="1433"))

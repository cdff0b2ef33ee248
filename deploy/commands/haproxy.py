"""Pure builders of HAProxy runtime API commands, and parsers of its answers.

These are runtime-API lines sent to the admin socket (deploy.lb.admin), not shell commands. The API
splits on spaces and `;`, so names are checked here rather than quoted.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from deploy.errors import ConfigError

STATES = ("ready", "drain", "maint")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")

# srv_admin_state bits (haproxy/include/haproxy/server-t.h)
ADMIN_FORCED_MAINT = 0x01
ADMIN_INHERITED_MAINT = 0x02
ADMIN_CONFIG_MAINT = 0x04
ADMIN_FORCED_DRAIN = 0x08
ADMIN_INHERITED_DRAIN = 0x10
ADMIN_RESOLVER_MAINT = 0x20
ADMIN_HOST_MAINT = 0x40
OPERATIONAL = {0: "stopped", 1: "starting", 2: "running", 3: "stopping"}


def _name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ConfigError(f"HAProxy {what} name {value!r} is not valid (letters, digits, _ . : - only)")
    return value


def set_state(backend: str, server: str, state: str) -> str:
    """`set server B/S state ready|drain|maint`."""
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    return f"set server {_name(backend, 'backend')}/{_name(server, 'server')} state {state}"


def show_stat() -> str:
    """The statistics CSV: scur (current sessions) and qcur (queued) per server."""
    return "show stat"


def show_servers_state(backend: str) -> str:
    return f"show servers state {_name(backend, 'backend')}"


def show_servers_conn(backend: str) -> str:
    return f"show servers conn {_name(backend, 'backend')}"


@dataclass(frozen=True)
class ServerStat:
    backend: str
    server: str
    current_sessions: int
    queued: int
    status: str          # UP, DOWN, DRAIN, MAINT, no check, ...


def parse_stat(text: str) -> dict[tuple[str, str], ServerStat]:
    """`show stat` CSV -> {(backend, server): ServerStat}; frontends and backend totals skipped."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        return {}
    rows = csv.DictReader(io.StringIO("\n".join([lines[0][2:], *lines[1:]])))
    stats = {}
    for row in rows:
        sv = row.get("svname") or ""
        if not sv or sv in ("FRONTEND", "BACKEND"):
            continue
        stats[(row.get("pxname", ""), sv)] = ServerStat(
            backend=row.get("pxname", ""), server=sv, current_sessions=_int(row.get("scur")),
            queued=_int(row.get("qcur")), status=row.get("status") or "")
    return stats


@dataclass(frozen=True)
class ServerState:
    backend: str
    server: str
    address: str
    operational: str     # stopped | starting | running | stopping
    admin: int           # srv_admin_state bit field
    port: int = 0        # srv_port: where new connections go

    @property
    def maint(self) -> bool:
        # ADMIN_CONFIG_MAINT alone only says "declared `disabled`": such a server set ready keeps
        # that bit (admin 4) and takes traffic (seen on HAProxy 2.6); `disabled` sets FORCED too.
        return bool(self.admin & (ADMIN_FORCED_MAINT | ADMIN_INHERITED_MAINT
                                  | ADMIN_RESOLVER_MAINT | ADMIN_HOST_MAINT))

    @property
    def drain(self) -> bool:
        return bool(self.admin & (ADMIN_FORCED_DRAIN | ADMIN_INHERITED_DRAIN))

    @property
    def ready(self) -> bool:
        return not self.maint and not self.drain


def parse_servers_state(text: str) -> dict[str, ServerState]:
    """`show servers state [B]` (format version 1) -> {server: ServerState}, by header names."""
    header: list[str] | None = None
    states = {}
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split()
            continue
        fields = line.split()
        if header is None or len(fields) < len(header) - 1 or not fields:
            continue
        row = dict(zip(header, fields))
        if "srv_name" not in row:
            continue
        states[row["srv_name"]] = ServerState(
            backend=row.get("be_name", ""), server=row["srv_name"], address=row.get("srv_addr", ""),
            operational=OPERATIONAL.get(_int(row.get("srv_op_state")), "unknown"),
            admin=_int(row.get("srv_admin_state")), port=_int(row.get("srv_port")))
    return states


def parse_servers_conn(text: str) -> dict[str, int]:
    """`show servers conn B` -> {server: connections in use (used_cur)}."""
    header: list[str] | None = None
    used = {}
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split()
            continue
        fields = line.split()
        if header is None or not fields or "used_cur" not in header:
            continue
        row = dict(zip(header, fields))
        server = row.get("bkname/svname", "").partition("/")[2]
        if server:
            used[server] = _int(row.get("used_cur"))
    return used


def error_of(answer: str) -> str | None:
    """A runtime command that worked answers nothing (an empty line); anything else is an error."""
    text = answer.strip()
    return text or None


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0

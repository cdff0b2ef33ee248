"""Shared by the fleet fault tests (no tests here)."""

from __future__ import annotations

from pathlib import Path


def app_pids(host, marker: str = "marketplace.api") -> list[int]:
    """The host's processes whose command line runs the API (a restart changes them)."""
    found = []
    for pid in host.pids():
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(pid)
        except OSError:
            pass
    return found

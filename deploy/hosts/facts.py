"""Facts about a host: a command that reads it, and a pure parser of the command's output.

One round trip gathers them all (`FACTS_COMMAND`), so preflight costs one command per host.
"""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote as _q

from deploy.commands.shell import Command, cmd

SEPARATOR = "@@deploy-facts@@"


def facts_command(disk_path: str, tools: list[str]) -> Command:
    """nproc; /proc/meminfo; df of the nearest existing parent of disk_path; date; which tools."""
    probe_dir = (
        f"d={_q(disk_path)}; while [ ! -d \"$d\" ]; do d=$(dirname \"$d\"); done; df -Pk \"$d\""
    )
    which = " ; ".join(f"command -v {_q(t)} || echo missing:{_q(t)}" for t in tools) or "true"
    script = (
        f"nproc; echo {SEPARATOR}; cat /proc/meminfo; echo {SEPARATOR}; {probe_dir}; "
        f"echo {SEPARATOR}; date +%s.%N; echo {SEPARATOR}; {which}"
    )
    return cmd("sh", "-c", script)


@dataclass(frozen=True)
class HostFacts:
    cpus: int
    mem_total_mb: int
    mem_available_mb: int
    disk_mount: str
    disk_free_mb: int
    disk_total_mb: int
    clock: float
    tools: dict[str, str | None]   # tool -> path, None when missing
    disk_free_bytes: int = 0       # disk_free_mb to the KiB (room for a small release)


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo -> {key: kB}."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if key and parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    return values


def parse_df(text: str) -> tuple[str, int, int]:
    """`df -Pk` -> (mount point, free MB, total MB); the POSIX format keeps one line per fs."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError("df printed no filesystem line")
    fields = lines[-1].split()
    total_kb, avail_kb, mount = int(fields[1]), int(fields[3]), fields[5]
    return mount, avail_kb // 1024, total_kb // 1024


def parse_tools(text: str, tools: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {t: None for t in tools}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for tool, line in zip(tools, lines):
        found[tool] = None if line.startswith("missing:") else line
    return found


def parse_facts(text: str, tools: list[str]) -> HostFacts:
    sections = text.split(SEPARATOR)
    if len(sections) != 5:
        raise ValueError(f"expected 5 fact sections, got {len(sections)}")
    cpus_text, meminfo_text, df_text, clock_text, tools_text = sections
    meminfo = parse_meminfo(meminfo_text)
    mount, free_mb, total_mb = parse_df(df_text)
    available_kb = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    return HostFacts(
        cpus=int(cpus_text.strip()),
        mem_total_mb=meminfo.get("MemTotal", 0) // 1024,
        mem_available_mb=available_kb // 1024,
        disk_mount=mount,
        disk_free_mb=free_mb,
        disk_total_mb=total_mb,
        clock=float(clock_text.strip()),
        tools=parse_tools(tools_text, tools),
        disk_free_bytes=int(df_text.strip().splitlines()[-1].split()[3]) * 1024,
    )

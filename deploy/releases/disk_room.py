"""Room for a release on a host: measured before the first byte is sent.

A release needs its tarball and its unpacked tree side by side for a moment (the tarball is
removed after unpacking). The upload's first round trip (deploy/engine/ship.py) reads the free
space of the filesystem that holds the releases folder (`df_command`: `df -Pk` of its nearest
existing parent) and `shortage` refuses, naming the host and the free space, when the artifact
would not fit: the upload then leaves nothing on that host.
Preflight warns earlier, when a host's free space is below ROOM_FACTOR x the artifact's size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from shlex import quote

from deploy.releases import artifact
from deploy.commands.shell import Command, cmd

ROOM_FACTOR = 2     # preflight's rule of thumb: the tarball plus its unpacked tree


@dataclass(frozen=True)
class Room:
    mount: str
    free_bytes: int


def df_command(path: str) -> Command:
    """`df -Pk` of the nearest existing parent of path (the releases folder may not exist yet)."""
    return cmd("sh", "-c", f'd={quote(path)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d"')


def parse_room(df_output: str) -> Room:
    """`df -Pk` -> the mount point and its free bytes (to the KiB df reports)."""
    lines = [line for line in df_output.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError("df printed no filesystem line")
    fields = lines[-1].split()
    return Room(mount=fields[5], free_bytes=int(fields[3]) * 1024)


def needed_bytes(tarball: Path) -> int:
    """The tarball plus every file it unpacks to (read once per tarball: deploy.releases.artifact.contents)."""
    return tarball.stat().st_size + artifact.contents(tarball).unpacked


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def shortage(host: str, room: Room, needed: int, release: str) -> str | None:
    """The refusal when `needed` bytes do not fit in the room, else None."""
    if room.free_bytes >= needed:
        return None
    return (f"{host}: not enough disk space for release {release}: {human(room.free_bytes)} free on "
            f"{room.mount}, the release needs {human(needed)} (artifact and unpacked tree) - nothing uploaded")


def last_artifact_size(artifacts_folder: Path) -> tuple[str, int] | None:
    """(release, size) of the newest artifact built here (its manifest), or None before any."""
    manifests = sorted(artifacts_folder.glob("*.json"))   # release ids sort by their UTC time
    for manifest in reversed(manifests):
        try:
            data = json.loads(manifest.read_text())
            return str(data["release"]), int(data["size"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def preflight_item(host: str, app: str, free_bytes: int, mount: str,
                   last: tuple[str, int] | None) -> tuple[str, str, str]:
    """(name, status, detail) of preflight's room check for one app on one host."""
    name = f"{host}: room for {app}"
    if last is None:
        return name, "skip", f"no {app} artifact built yet (its size is not known)"
    release, size = last
    need = ROOM_FACTOR * size
    status = "warn" if free_bytes < need else "pass"
    return name, status, (f"{human(free_bytes)} free on {mount}; the last {app} artifact ({release}) is "
                          f"{human(size)}, {ROOM_FACTOR} x that is {human(need)}")

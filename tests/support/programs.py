"""Every external program the strict suite needs, in one list.

Tests ask for a program by name through `need(name)`: it returns the program's path, or skips
(fails under DEPLOY_TEST_STRICT=1) naming the package that provides it. A name missing from this
list is a programming error, not a skip, so a test cannot depend on a program nobody installs.
tests/unit/test_system_programs.py holds this list against .ci/install-system.sh: every program
here must be installed there, so a fresh machine's CI has what a developer's machine has.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support import strict

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / ".work" / "node" / "node_modules" / ".bin"


@dataclass(frozen=True)
class Program:
    name: str        # what the tests call it
    look_for: str    # a command name (PATH, then /usr/sbin), or an absolute path or glob
    source: str      # "apt:<package>" or "npm:<package>" (into .work/node) - how CI installs it

    def find(self) -> str | None:
        if self.source.startswith("npm:"):
            path = NODE_BIN / self.look_for
            return str(path) if os.access(path, os.X_OK) else None
        if self.look_for.startswith("/"):
            found = sorted(glob.glob(self.look_for))
            return found[-1] if found else None
        found = shutil.which(self.look_for)
        if found:
            return found
        sbin = f"/usr/sbin/{self.look_for}"
        return sbin if os.access(sbin, os.X_OK) else None


PROGRAMS: dict[str, Program] = {p.name: p for p in (
    Program("sshd", "sshd", "apt:openssh-server"),
    Program("ssh-keygen", "ssh-keygen", "apt:openssh-client"),
    Program("unshare", "unshare", "apt:util-linux"),
    Program("nsenter", "nsenter", "apt:util-linux"),
    Program("initdb", "/usr/lib/postgresql/*/bin/initdb", "apt:postgresql"),
    Program("pg_dump", "/usr/lib/postgresql/*/bin/pg_dump", "apt:postgresql-client"),
    Program("odbcinst", "odbcinst", "apt:unixodbc"),
    Program("haproxy", "haproxy", "apt:haproxy"),
    Program("prometheus", "prometheus", "apt:prometheus"),
    Program("promtool", "promtool", "apt:prometheus"),
    Program("prometheus-alertmanager", "prometheus-alertmanager", "apt:prometheus-alertmanager"),
    Program("amtool", "amtool", "apt:prometheus-alertmanager"),
    Program("chromium", "chromium", "apt:chromium"),
    Program("systemd-analyze", "systemd-analyze", "apt:systemd"),
    Program("faketime", "faketime", "apt:faketime"),
    Program("node", "node", "apt:nodejs"),
    Program("npm", "npm", "apt:npm"),
    Program("pm2", "pm2", "npm:pm2"),
)}


def need(name: str) -> str:
    """The path of a program of PROGRAMS, or skip (fail when strict) naming how to install it."""
    program = PROGRAMS[name]
    path = program.find()
    if path is None:
        kind, package = program.source.split(":", 1)
        how = f"apt-get install {package}" if kind == "apt" else f"npm install {package} into {NODE_BIN.parent.parent}"
        strict.missing(f"needs {name} ({how}; .ci/install-system.sh installs it)")
    return path

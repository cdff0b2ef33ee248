"""Where backup commands run: anything with run() and get() (hosts.Host satisfies it too).

`LocalRunner` is the operator's own machine, for the library's own use and its tests; the
configured hosts (deploy.hosts.fleet) offer the same methods over SSH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from deploy.commands.shell import Command
from deploy.errors import StepFailed
from deploy.secrets import mask


class Runner(Protocol):
    def run(self, command: Command, timeout: float | None = None, check: bool = True) -> Any: ...

    def get(self, remote_path: str, local_path: Path) -> None: ...


@dataclass(frozen=True)
class RunResult:
    command: str      # masked
    stdout: str
    stderr: str
    exit_code: int


class LocalRunner:
    """Runs commands with /bin/sh on this machine; `put`/`get` are file copies."""

    name = "local"

    def __init__(self, timeout: float = 3600):
        self.timeout = timeout

    def run(self, command: Command, timeout: float | None = None, check: bool = True) -> RunResult:
        limit = timeout or self.timeout
        try:
            proc = subprocess.run(command.render(), shell=True, executable="/bin/sh", capture_output=True,
                                  text=True, timeout=limit, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"local: `{command}` timed out after {limit:g}s") from None
        result = RunResult(str(command), mask(proc.stdout), mask(proc.stderr), proc.returncode)
        if check and proc.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise StepFailed(f"local: `{command}` exited {proc.returncode}: {lines[-1] if lines else 'no output'}")
        return result

    def put(self, local_path: Path, remote_path: str, mode: int | None = None) -> None:
        fd = os.open(remote_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode if mode is not None else 0o644)
        with os.fdopen(fd, "wb") as out, open(local_path, "rb") as src:
            shutil.copyfileobj(src, out)

    def get(self, remote_path: str, local_path: Path) -> None:
        if Path(remote_path).resolve() != Path(local_path).resolve():
            shutil.copyfile(remote_path, local_path)

"""Write a rendered config file, checked by its own tool first (promtool, amtool).

    write_checked(text, out, ["promtool", "check", "rules"], what="rules")

The text goes to a temporary file beside `out` (mode 0600 when it holds secrets), the checker
runs on it, and only a file that passed replaces `out` (os.replace: never half a file). A file
that fails leaves `out` as it was: exit 1 with the checker's words (masked). Without `out` the
check runs on a temporary file that is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import ConfigError, StepFailed
from deploy.secrets import mask

CHECK_TIMEOUT = 60


@dataclass(frozen=True)
class Written:
    path: str | None          # where the file is now (None: only checked)
    check: str | None         # the checker's output when it passed (None: not asked)


def out_path(value: object, flag: str = "--out") -> Path | None:
    """The --out flag: None when not given; a path whose folder exists (exit 2 otherwise)."""
    if value in (None, ""):
        return None
    if value is True:
        raise ConfigError(f"{flag}: expected a file path")
    path = Path(str(value)).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag}: {path} is a folder; expected a file path")
    if not path.parent.is_dir():
        raise ConfigError(f"{flag}: folder {path.parent} does not exist")
    return path


def checker(program: str, package: str) -> str:
    """The checker's path, or exit 2 naming what to install."""
    found = shutil.which(program)
    if not found:
        raise ConfigError(f"--check needs {program} on PATH (Debian package {package})")
    return found


def write_checked(text: str, out: Path | None, check: list[str] | None, secret: bool = False) -> Written:
    folder = out.parent if out else Path(tempfile.mkdtemp(prefix="deploy-render-"))
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name if out else 'rendered'}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600 if secret else 0o644)
        result = _run_check(check, tmp) if check else None
        if out is None:
            return Written(None, result)
        os.replace(tmp, out)
        return Written(str(out), result)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run_check(check: list[str], file: str) -> str:
    name = Path(check[0]).name
    try:
        proc = subprocess.run([*check, file], capture_output=True, text=True, timeout=CHECK_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{name}: no answer within {CHECK_TIMEOUT}s") from None
    said = mask((proc.stdout + proc.stderr).replace(file, "<file>").strip())
    if proc.returncode != 0:
        raise StepFailed(f"{name} refused the rendered file (nothing written): {said}")
    return said

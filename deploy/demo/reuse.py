"""Whether a demo re-run may leave out the apps' test/typecheck/build commands: only when they
passed in an earlier demo run on this very input - the same command lines, the same interpreter,
and byte for byte the same files in every app's source folder (bytecode caches aside)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Iterable


def commands_digest(commands: Iterable[tuple[str, str]], sources: Iterable[Path]) -> str:
    """sha256 over the (kind, command line) pairs, the interpreter and every file under the
    source folders (path relative to its folder, and contents)."""
    digest = hashlib.sha256()
    digest.update(f"{sys.executable}\0{sys.version}\0".encode())
    for kind, line in sorted(commands):
        digest.update(f"command\0{kind}\0{line}\0".encode())
    for source in sorted({Path(s).resolve() for s in sources}):
        digest.update(f"source\0{source}\0".encode())
        for file in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"file\0{file.relative_to(source)}\0{file.stat().st_size}\0".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def may_skip(record: Path, digest: str) -> bool:
    """True when `record` holds this digest: the commands passed on exactly this input."""
    try:
        return record.read_text().strip() == digest
    except OSError:
        return False


def remember(record: Path, digest: str) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(digest + "\n")

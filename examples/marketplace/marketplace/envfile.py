"""Read KEY=VALUE env files the way dotenv does, with the process environment on top.

The pipeline renders one env file per app into shared/ and starts the process with
--env-file; variables set in the process environment still win so an operator (or a test)
can override one value without rewriting the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvFileError(ValueError):
    pass


def parse(text: str, source: str = "env file") -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise EnvFileError(f"{source}:{number}: expected KEY=VALUE")
        values[key] = _unquote(value.strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        # Only double quotes interpret escapes, as in dotenv; single quotes are literal.
        if value[0] == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        return inner
    # An unquoted value may carry a trailing " # comment".
    hash_at = value.find(" #")
    return value[:hash_at].rstrip() if hash_at >= 0 else value


def load(path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """File values overlaid by the process environment."""
    merged: dict[str, str] = {}
    if path is not None:
        file_path = Path(path)
        try:
            text = file_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EnvFileError(f"cannot read env file {file_path}: {exc.strerror}") from exc
        merged.update(parse(text, str(file_path)))
    merged.update(os.environ if environ is None else environ)
    return merged

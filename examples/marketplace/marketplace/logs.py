"""One JSON object per line: info and below to stdout, warnings and errors to stderr.

pm2 and supervisord keep the two streams in separate files (out/error), so the split lets an
operator tail errors alone while the access log stays machine-readable.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone

LEVELS = {"trace": 5, "debug": 10, "info": 20, "warn": 30, "error": 40, "fatal": 50, "silent": 100}
_ALIASES = {"warning": "warn"}


def normalise_level(name: str) -> str | None:
    level = _ALIASES.get(name.strip().lower(), name.strip().lower())
    return level if level in LEVELS else None


class Logger:
    def __init__(self, app: str, level: str = "info", out=None, err=None):
        self.app = app
        self.threshold = LEVELS[normalise_level(level) or "info"]
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._lock = threading.Lock()

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self.threshold

    def log(self, level: str, msg: str, **fields) -> None:
        if not self.enabled(level):
            return
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "app": self.app,
            "msg": msg,
        }
        record.update(fields)
        line = json.dumps(record, default=str, separators=(",", ":"))
        stream = self._err if LEVELS[level] >= LEVELS["warn"] else self._out
        with self._lock:
            stream.write(line + "\n")
            stream.flush()

    def debug(self, msg: str, **fields) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields) -> None:
        self.log("info", msg, **fields)

    def warn(self, msg: str, **fields) -> None:
        self.log("warn", msg, **fields)

    def error(self, msg: str, **fields) -> None:
        self.log("error", msg, **fields)

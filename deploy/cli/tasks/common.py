"""Flag help and flag parsing shared by the task modules.

Numeric flags arrive as text and are parsed here, so a bad value is one line and exit 2 rather
than invoke's traceback (invoke would convert `--limit abc` itself, and fail loudly).
"""

from __future__ import annotations

from deploy.errors import ConfigError

DRY_RUN = "print exactly what would run (SQL, commands; secrets masked) and change nothing"
LOCK_WAIT = "wait up to SECONDS (or 90s, 5m, 1h30m) for another deploy's lock instead of exiting 3 at once"


def lock_wait_seconds(value: str | float | None) -> float:
    if value in (None, ""):
        return 0.0
    from deploy.config.environment import parse_duration   # config (pydantic) only when a task runs

    try:
        return parse_duration(value)
    except ValueError:
        raise ConfigError(f"--lock-wait: {value!r} is not a number of seconds (or 90s, 5m, 1h30m)") from None


def whole_number(value: str | int | None, flag: str, default: int, minimum: int = 1) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"--{flag}: {value!r} is not a whole number") from None
    if number < minimum:
        raise ConfigError(f"--{flag} must be at least {minimum}")
    return number

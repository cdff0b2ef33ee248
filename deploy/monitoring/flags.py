"""Pure: the monitor tasks' flags, checked once. Invoke hands them over as text (a typed default
would turn `--days abc` into a traceback), so a bad value here is a one-line ConfigError (exit 2)."""

from __future__ import annotations

from typing import Iterable

from deploy.errors import ConfigError

FORMATS = ("table", "csv")


def whole_number(value: object, flag: str, default: int, low: int = 1, high: int | None = None) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ConfigError(f"--{flag}: expected a whole number, got {text!r}")
    number = int(text)
    if number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"--{flag}: must be {span} (got {number})")
    return number


def report_days(value: object) -> int:
    days = whole_number(value, "days", 30)
    if days not in (30, 90):
        raise ConfigError(f"--days: the runbook's goals are for 30 or 90 days (got {days})")
    return days


def output_format(value: object, csv: bool) -> str:
    """--format table|csv; --csv is short for --format csv."""
    chosen = str(value).strip().lower() if value not in (None, "") else ("csv" if csv else "table")
    if chosen not in FORMATS:
        hint = "; use --json for JSON" if chosen == "json" else ""
        raise ConfigError(f"--format: unknown format {chosen!r} (use {' or '.join(FORMATS)}{hint})")
    if csv and chosen != "csv":
        raise ConfigError(f"--csv and --format {chosen} disagree: give one of them")
    return chosen


def not_both_json(fmt: str, json_mode: bool) -> None:
    if json_mode and fmt != "table":
        raise ConfigError(f"--json and --format {fmt} are two outputs: give one of them")


def names(value: object, flag: str, allowed: Iterable[str]) -> list[str]:
    allowed = list(allowed)
    if value in (None, ""):
        return allowed
    chosen = [n.strip() for n in str(value).split(",") if n.strip()]
    unknown = [n for n in chosen if n not in allowed]
    if unknown or not chosen:
        raise ConfigError(f"--{flag}: unknown {', '.join(unknown) or 'empty list'} (choose from {', '.join(allowed)})")
    return [n for n in allowed if n in chosen]


def duration(value: object, flag: str) -> float | None:
    if value in (None, ""):
        return None
    from deploy.config.environment import parse_duration   # config (pydantic) only when a duration is parsed

    try:
        return parse_duration(str(value).strip())
    except ValueError as exc:
        raise ConfigError(f"--{flag}: {exc}") from None

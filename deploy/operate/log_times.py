"""`logs --since`: when a log line was written, read from the line itself (pure).

The stamps recognised at the start of a line:
    2026-12-01 20:24:59 +00:00: ...      pm2's log_date_format (e.g. YYYY-MM-DD HH:mm:ss Z)
    2026-12-01T20:24:59.123Z ...         ISO 8601 (pm2 --time, journalctl -o short-iso)
    2026-12-01 20:24:59,123 INFO ...     supervisord's own log, Python logging
    Dec 01 20:24:59 host unit[1]: ...    journalctl's classic short format (no year: this year)
    {"time": "...", ...}                 JSON lines (pino, bunyan, the stand-in apps): time,
                                         timestamp, ts or @timestamp, ISO or epoch (s or ms)
A stamp without a UTC offset is read in this machine's time zone. A line without a stamp
belongs to the last stamped line before it (a stack trace, a wrapped message).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from deploy.errors import ConfigError

SINCE_HELP = ("only lines written since then: a duration back from now (10m, 1h30m) or an ISO time "
              "(2026-12-01T20:00, offset optional); read from each line's timestamp")

_ISO = re.compile(r"^\[?(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
                  r" ?(Z|[+-]\d\d:?\d\d)?(?![\d])")
_SHORT = re.compile(r"^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\b")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                       "Oct", "Nov", "Dec"), start=1)}
_JSON_KEYS = ("time", "timestamp", "ts", "@timestamp")


def _zone(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _aware(moment: datetime) -> datetime:
    """A naive time is this machine's local time."""
    return moment if moment.tzinfo else moment.astimezone()


def _micro(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def _iso_text(text: str) -> datetime | None:
    match = _ISO.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, _micro(match[7]), tzinfo=_zone(match[8]))
    except ValueError:
        return None
    return _aware(moment)


def _json_stamp(line: str) -> datetime | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    for key in _JSON_KEYS:
        value = record.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            seconds = value / 1000 if value > 1e11 else value   # pino and Date.now(): milliseconds
            try:
                return datetime.fromtimestamp(seconds, timezone.utc)
            except (OverflowError, OSError, ValueError):
                return None
        if isinstance(value, str):
            return _iso_text(value)
    return None


def stamp(line: str, now: datetime) -> datetime | None:
    """When the line says it was written (aware), or None when it carries no stamp."""
    text = line.lstrip()
    if text.startswith("{"):
        return _json_stamp(text)
    found = _iso_text(text)
    if found is not None:
        return found
    match = _SHORT.match(text)
    if match and match[1] in _MONTHS:
        local_now = now.astimezone()
        try:
            moment = datetime(local_now.year, _MONTHS[match[1]], int(match[2]), int(match[3]), int(match[4]),
                              int(match[5]), _micro(match[6]))
        except ValueError:
            return None
        moment = _aware(moment)
        if moment - now > timedelta(days=1):      # December's lines read in January
            moment = _aware(moment.replace(tzinfo=None, year=local_now.year - 1))
        return moment
    return None


def parse_since(value: str, now: datetime) -> datetime:
    """--since: a duration back from `now` (10m, 1h30m, 90) or an ISO time -> an aware time."""
    text = str(value).strip()
    try:
        from deploy.config.environment import parse_duration   # config (pydantic) loads when --since is used
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        raise ConfigError(f"--since: {value!r} is neither a duration (10m, 1h30m) nor an ISO time "
                          "(2026-12-01T20:00, offset optional)") from None


class SinceFilter:
    """Keeps each host's lines written at or after `cutoff`; a line without a stamp goes with the
    last stamped line of its host (none yet: left out, its time is not known)."""

    def __init__(self, cutoff: datetime, now: datetime):
        self.cutoff, self.now = cutoff, now
        self._keeping: dict[str, bool] = {}
        self.stamped: set[str] = set()      # hosts that showed at least one stamped line

    def __call__(self, host: str, line: str) -> bool:
        when = stamp(line, self.now)
        if when is not None:
            self.stamped.add(host)
            self._keeping[host] = when >= self.cutoff
        return self._keeping.get(host, False)

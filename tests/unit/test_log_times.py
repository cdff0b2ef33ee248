"""`logs --since`, the pure parts: every stamp format a log line starts with, --since values, and
lines without a stamp going with the last stamped line."""

from datetime import datetime, timedelta, timezone

import pytest

from deploy.errors import ConfigError
from deploy.operate.log_times import SinceFilter, parse_since, stamp

NOW = datetime(2026, 12, 1, 20, 30, tzinfo=timezone.utc)
UTC = timezone.utc


def at(*parts, tz=UTC):
    return datetime(*parts, tzinfo=tz)


@pytest.mark.parametrize("line, expected", [
    # pm2 log_date_format "YYYY-MM-DD HH:mm:ss Z" (as the node cluster test's files show)
    ('2026-12-01 20:24:59 +00:00: {"msg":"listening"}', at(2026, 12, 1, 20, 24, 59)),
    ("2026-12-01 21:24:59 +01:00: hello", at(2026, 12, 1, 20, 24, 59)),
    ("2026-12-01 15:24:59 -0500: hello", at(2026, 12, 1, 20, 24, 59)),
    # ISO 8601: pm2 --time, journalctl -o short-iso / short-iso-precise
    ("2026-12-01T20:24:59.250Z GET /", at(2026, 12, 1, 20, 24, 59, 250000)),
    ("2026-12-01T20:24:59+0000 api-1 systemd[1]: Started marketplace-api.service.", at(2026, 12, 1, 20, 24, 59)),
    ("2026-12-01T20:24:59.123456+00:00 api-1 x[1]: y", at(2026, 12, 1, 20, 24, 59, 123456)),
    ("[2026-12-01T20:24:59Z] bracketed", at(2026, 12, 1, 20, 24, 59)),
    # JSON lines: the stand-in apps' "time", pino's epoch milliseconds, bunyan's ISO
    ('{"time":"2026-12-01T20:24:59.000Z","level":"info","msg":"listening"}', at(2026, 12, 1, 20, 24, 59)),
    ('{"level":30,"time":1796156699000,"msg":"x"}', datetime.fromtimestamp(1796156699, UTC)),
    ('{"ts":1796156699.5,"msg":"x"}', datetime.fromtimestamp(1796156699.5, UTC)),
    ('{"@timestamp":"2026-12-01T20:24:59Z"}', at(2026, 12, 1, 20, 24, 59)),
])
def test_stamps_with_an_offset(line, expected):
    assert stamp(line, NOW) == expected


def test_stamps_without_an_offset_are_local_time():
    local = datetime(2026, 12, 1, 20, 24, 59, 123000).astimezone()
    assert stamp("2026-12-01 20:24:59,123 INFO spawned: 'marketplace-api'", NOW) == local   # supervisord
    assert stamp("Dec 01 20:24:59 api-1 systemd[1]: Started x.", NOW) == local.replace(microsecond=0)
    assert stamp("Dec  1 20:24:59 api-1 systemd[1]: Started x.", NOW) == local.replace(microsecond=0)
    # journalctl's short format has no year: a December line read on January 1st is last year's
    new_year = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    assert stamp("Dec 31 23:59:00 h x: y", new_year).year == 2026


@pytest.mark.parametrize("line", [
    "", "   at Object.<anonymous> (/srv/app/index.js:1:1)", "GET / 200 3ms", "listening on 2026",
    '{"msg":"no time"}', '{"time":true}', "[1, 2]", "2026-13-45 99:99:99 not a date", "Foo 12 20:24:59 x",
    "2026-12-01 20:24 minutes only",
])
def test_lines_without_a_stamp(line):
    assert stamp(line, NOW) is None


def test_since_a_duration_or_an_iso_time():
    assert parse_since("10m", NOW) == NOW - timedelta(minutes=10)
    assert parse_since("1h30m", NOW) == NOW - timedelta(hours=1, minutes=30)
    assert parse_since("90", NOW) == NOW - timedelta(seconds=90)
    assert parse_since("2026-12-01T19:00:00Z", NOW) == at(2026, 12, 1, 19)
    assert parse_since("2026-12-01T20:00+01:00", NOW) == at(2026, 12, 1, 19)
    assert parse_since("2026-12-01 19:00", NOW) == datetime(2026, 12, 1, 19).astimezone()
    assert parse_since("2026-12-01", NOW) == datetime(2026, 12, 1).astimezone()


@pytest.mark.parametrize("value", ["yesterday", "10 minutes", "-5m", "2026-12-32", ""])
def test_since_refuses_with_one_line(value):
    with pytest.raises(ConfigError) as err:
        parse_since(value, NOW)
    assert f"--since: {value!r} is neither a duration (10m, 1h30m) nor an ISO time" in str(err.value)
    assert "\n" not in str(err.value)


def test_unstamped_lines_go_with_the_last_stamped_line_of_their_host():
    keep = SinceFilter(at(2026, 12, 1, 20), NOW)
    lines = [("a", "continuation before any stamp"), ("a", "2026-12-01T19:59:59Z old"), ("a", "  old trace"),
             ("b", "2026-12-01T20:00:00Z new on b"), ("a", "2026-12-01T20:00:00Z new"), ("a", "  new trace"),
             ("b", "  b's trace"), ("a", "2026-12-01T19:00:00Z older again"), ("a", "  its trace")]
    assert [line for host, line in lines if keep(host, line)] == [
        "2026-12-01T20:00:00Z new on b", "2026-12-01T20:00:00Z new", "  new trace", "  b's trace"]
    assert keep.stamped == {"a", "b"}

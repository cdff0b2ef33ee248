"""The monitor tasks' flags: every bad value is one ConfigError line (exit 2)."""

from __future__ import annotations

import pytest

from deploy.errors import EXIT_BAD_INPUT, ConfigError
from deploy.monitoring import flags


def test_whole_numbers():
    assert flags.whole_number(None, "days", 30) == 30
    assert flags.whole_number("7", "days", 30) == 7
    for bad, message in (("0", "must be from 1 to 10"), ("abc", "expected a whole number, got 'abc'"),
                         ("-3", "must be from 1 to 10"), ("2.5", "expected a whole number"),
                         ("11", "must be from 1 to 10")):
        with pytest.raises(ConfigError, match=message) as caught:
            flags.whole_number(bad, "days", 30, high=10)
        assert caught.value.exit_code == EXIT_BAD_INPUT
        assert "\n" not in str(caught.value) and str(caught.value).startswith("--days: ")


def test_report_days_are_the_runbooks_goal_sets():
    assert flags.report_days(None) == 30 and flags.report_days("90") == 90
    with pytest.raises(ConfigError, match="30 or 90"):
        flags.report_days("45")


def test_formats():
    assert flags.output_format(None, False) == "table"
    assert flags.output_format(None, True) == "csv"
    assert flags.output_format("CSV", False) == "csv"
    with pytest.raises(ConfigError, match="unknown format 'xml'"):
        flags.output_format("xml", False)
    with pytest.raises(ConfigError, match="use --json for JSON"):
        flags.output_format("json", False)
    with pytest.raises(ConfigError, match="disagree"):
        flags.output_format("table", True)
    with pytest.raises(ConfigError, match="two outputs"):
        flags.not_both_json("csv", True)
    flags.not_both_json("table", True)


def test_names_and_durations():
    assert flags.names(None, "only", ["a", "b"]) == ["a", "b"]
    assert flags.names("b, a", "only", ["a", "b"]) == ["a", "b"]
    with pytest.raises(ConfigError, match="unknown c"):
        flags.names("a,c", "only", ["a", "b"])
    assert flags.duration(None, "window") is None
    assert flags.duration("0", "window") == 0 and flags.duration("30s", "window") == 30
    assert flags.duration("2m", "window") == 120
    with pytest.raises(ConfigError, match="--window: 'soon' is not a duration"):
        flags.duration("soon", "window")

"""Compound durations (1h30m) wherever durations are taken: config, --lock-wait, --window, --observe."""

from __future__ import annotations

import pytest

from deploy.config import environment as config
from deploy.errors import ConfigError
from deploy.cli.tasks.common import lock_wait_seconds


@pytest.mark.parametrize("text, seconds", [
    ("1h30m", 5400), ("2m30s", 150), ("1d 12h", 129600), ("1h 0m 5s", 3605), ("1m500ms", 60.5),
    ("1.5h30m", 7200), ("90m", 5400), ("45", 45),
])
def test_compound_durations(text, seconds):
    assert config.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1h30", "h30m", "1x", "1h-30m", "30m soon", "", "1 h 30"])
def test_not_durations(text):
    with pytest.raises(ValueError, match="1h30m"):
        config.parse_duration(text)


def test_lock_wait_takes_compound_durations():
    assert lock_wait_seconds("1m30s") == 90
    with pytest.raises(ConfigError, match="--lock-wait: '1h30' is not"):
        lock_wait_seconds("1h30")

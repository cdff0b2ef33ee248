"""The flag's stage policy, soak gates and reference bucketing (deploy/flag/rollout.py), no I/O."""

import importlib.util
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy.flag import rollout
from deploy.errors import ConfigError
from deploy.flag.rollout import FlagState, Move, bucket, in_rollout, murmur3_32, parse_stage, plan, soaks

REPO = Path(__file__).resolve().parents[2]
STAGES = (10, 25, 50, 100)
NOW = datetime(2024, 1, 15, 12, 0, tzinfo=timezone.utc)


def standin_bucketing():
    """The stand-in app's own module (examples/marketplace/marketplace/bucketing.py), by path."""
    spec = importlib.util.spec_from_file_location(
        "standin_bucketing", REPO / "examples" / "marketplace" / "marketplace" / "bucketing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- bucketing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, expected", [
    (b"", 0),
    (b"hello", 613153351),                                            # mmh3.hash("hello", signed=False)
    (b"The quick brown fox jumps over the lazy dog", 0x2E4FF723),     # the reference vector
    (b"a", 0x3C2569B2), (b"ab", 0x9BBFD75F), (b"abc", 0xB3DD93FA), (b"abcd", 0x43ED676A),
])
def test_murmur3_reference_values(data, expected):
    assert murmur3_32(data) == expected


def test_same_function_as_the_standin_app_over_many_ids():
    app = standin_bucketing()
    ids = [*range(20_000), "", "é", "user-ä-42", "0042", " 7", "x" * 101]
    for user in ids:
        for flag in ("rating", "rating-v2"):
            assert bucket(flag, user) == app.normalized_value(flag, user)
            for pct in (10, 25, 50):
                assert in_rollout(flag, user, pct) == app.in_rollout(flag, user, pct)


def test_over_100k_users_everyone_in_at_10_is_in_at_25_and_50():
    users = range(1, 100_001)
    at = {pct: {u for u in users if in_rollout("rating", u, pct)} for pct in (10, 25, 50, 100)}
    assert at[10] <= at[25] <= at[50] <= at[100] == set(users)
    for pct in (10, 25, 50):                        # and the shares are what the stage says
        assert abs(len(at[pct]) / 100_000 - pct / 100) < 0.01


def test_sticky_per_user_and_no_user_is_never_in():
    assert {bucket("rating", "42") for _ in range(100)} == {bucket("rating", 42)}   # str and int alike
    assert not in_rollout("rating", None, 100) and not in_rollout("rating", "", 100)
    assert all(1 <= bucket("rating", u) <= 100 for u in range(5000))


def test_explain():
    data = rollout.explain("rating", "42", STAGES, percentage=30)
    assert data["bucket"] == bucket("rating", "42") and data["key"] == "rating:42"
    assert data["stages"] == {str(s): data["bucket"] <= s for s in STAGES}
    assert data["first_stage_in"] == next(s for s in STAGES if data["bucket"] <= s)
    assert data["enabled"] == (data["bucket"] <= 30)


# -- stages -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "33", "101", "-5", "abc", "", "10.0", " ", None])
def test_only_configured_stages_are_accepted(value):
    with pytest.raises(ConfigError) as err:
        parse_stage(value, STAGES)
    assert "the stages are 10, 25, 50, 100" in str(err.value)


@pytest.mark.parametrize("value, expected", [("10", 10), (" 25 ", 25), ("50%", 50), (100, 100)])
def test_stages_parse(value, expected):
    assert parse_stage(value, STAGES) == expected


def test_up_one_stage_at_a_time_unless_forced():
    at_10 = FlagState(True, 10)
    assert plan(at_10, 25, STAGES).direction == "up"
    with pytest.raises(ConfigError) as err:
        plan(at_10, 50, STAGES)
    assert "from 10% the next stage is 25%" in str(err.value) and "--force" in str(err.value)
    assert plan(at_10, 100, STAGES, force=True).forced
    with pytest.raises(ConfigError):
        plan(FlagState(False, 0), 25, STAGES)            # the first step is the first stage


def test_down_is_always_allowed_and_off_restarts_the_ladder():
    assert plan(FlagState(True, 100), 10, STAGES).direction == "down"
    assert plan(FlagState(True, 25), 25, STAGES).direction == "same"
    off = FlagState(False, 50)                           # switched off by rollback.frontend --flag-off
    assert off.effective == 0
    move = plan(off, 10, STAGES)
    assert move.direction == "up" and move.first_step
    with pytest.raises(ConfigError):
        plan(off, 50, STAGES)
    odd = FlagState(True, 30)                            # set by hand between stages: next is 50
    assert plan(odd, 50, STAGES).direction == "up"


# -- soak ------------------------------------------------------------------------------------------------
def test_first_step_waits_for_the_phase2_soak():
    move = plan(FlagState(False, 0), 10, STAGES)
    [gate] = soaks(move, NOW, api_released=NOW - timedelta(hours=23), last_change=None,
                   soak_after_api=24 * 3600, stage_soak=3600)
    assert not gate.ok and gate.left == 3600 and "phase-2 soak" in gate.name
    assert "1h left of 1d" in gate.describe()
    [never] = soaks(move, NOW, None, None, 0, 0)
    assert not never.ok and "never happened" in never.describe()
    [done] = soaks(move, NOW, NOW - timedelta(days=2), None, 24 * 3600, 3600)
    assert done.ok


def test_later_steps_wait_for_the_stage_soak_and_down_waits_for_nothing():
    up = plan(FlagState(True, 25), 50, STAGES)
    [gate] = soaks(up, NOW, NOW - timedelta(days=9), NOW - timedelta(minutes=15), 24 * 3600, 3600)
    assert not gate.ok and gate.left == 45 * 60 and gate.name == "stage soak (25%)"
    assert soaks(plan(FlagState(True, 50), 10, STAGES), NOW, None, None, 3600, 3600) == []
    [local] = soaks(up, NOW, NOW, NOW, 0, 0)              # soaks of 0: right away
    assert local.ok


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.6, "1m"), (3725, "1h 2m 5s"), (90000, "1d 1h")])
def test_duration_text(seconds, text):
    assert rollout.duration_text(seconds) == text


# -- the flag's state ------------------------------------------------------------------------------------
def test_state_to_env_and_back():
    state = FlagState(True, 25)
    assert state.env() == {"ENABLE_RATING_FEATURE": "true", "RATING_ROLLOUT_PERCENTAGE": "25"}
    assert rollout.state_from_env(state.env()) == state
    assert rollout.state_from_env({"ENABLE_RATING_FEATURE": "'false'", "RATING_ROLLOUT_PERCENTAGE": '"50"'}) \
        == FlagState(False, 50)
    assert rollout.state_from_env({"ENABLE_RATING_FEATURE": "on"}) == FlagState(True, 100)   # the app's default
    assert rollout.state_from_env({}) is None
    assert rollout.state_from_env({"RATING_ROLLOUT_PERCENTAGE": "101"}) is None
    assert rollout.state_from_env({"ENABLE_RATING_FEATURE": "maybe"}) is None


def test_journal_details_are_what_the_monitoring_report_reads():
    details = rollout.rollout_details(FlagState(True, 25), FlagState(False, 25), rollback=True)
    assert details["percentage"] == 0 and details["previous"] == 25 and details["rollback"]
    assert rollout.state_from_details(details) == FlagState(False, 25)     # the switched-off 25 is kept
    assert rollout.state_from_details({"percentage": 50}) == FlagState(True, 50)   # older, minimal events
    assert rollout.state_from_details({"percentage": "50"}) is None
    from deploy.monitoring.rollout import percentage
    assert percentage(details) == 0 and percentage(rollout.rollout_details(FlagState(True, 10), FlagState(True, 25))) == 25


def test_move_describe():
    assert Move(FlagState(True, 10), FlagState(True, 25)).describe() == "10% -> 25%"
    assert Move(FlagState(False, 0), FlagState(True, 10)).describe() == "off (0%) -> 10%"

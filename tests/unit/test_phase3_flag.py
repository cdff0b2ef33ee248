"""The flag on the hosts (deploy/flag/units.py): the exact commands, the parser, the health check of the
served value, and a rolling change with fake units - who changes, who is put back, in what order."""

import json
import threading
from contextlib import contextmanager

import pytest

from deploy.flag import units as flag
from deploy.commands.release import AppLayout
from deploy.errors import StepFailed
from deploy.gates.health import Answer, GateResult, health_verdict
from deploy.flag.rollout import FlagState

LAYOUT = AppLayout("/srv/marketplace", "web")


def test_read_command_greps_only_the_flag_lines():
    assert str(flag.read_command(LAYOUT)) == \
        "grep -E '^(ENABLE_RATING_FEATURE|RATING_ROLLOUT_PERCENTAGE)=' /srv/marketplace/web/shared/web.env"


def test_write_command_keeps_the_mode_and_renames_atomically():
    text = str(flag.write_command(LAYOUT, FlagState(True, 25)))
    env, scratch = "/srv/marketplace/web/shared/web.env", "/srv/marketplace/web/shared/.web.env.flag"
    assert text.startswith(f"cp -p {env} {scratch} && awk -v on=true -v pct=25 '")
    assert text.endswith(f"' {env} > {scratch} && mv -f {scratch} {env}")
    off = str(flag.write_command(LAYOUT, FlagState(False, 25)))
    assert "-v on=false -v pct=25" in off


@pytest.mark.parametrize("stdout, state", [
    ("ENABLE_RATING_FEATURE=true\nRATING_ROLLOUT_PERCENTAGE=25\n", FlagState(True, 25)),
    ("ENABLE_RATING_FEATURE='false'\nRATING_ROLLOUT_PERCENTAGE=0\n", FlagState(False, 0)),
    ("RATING_ROLLOUT_PERCENTAGE=10\nRATING_ROLLOUT_PERCENTAGE=50\nENABLE_RATING_FEATURE=1\n", FlagState(True, 50)),
    ("", None),
    ("ENABLE_RATING_FEATURE=perhaps\n", None),
])
def test_parse(stdout, state):
    assert flag.parse(stdout) == state


def health(**flag_fields):
    return Answer(200, json.dumps({"status": "ok", "version": "v1", "flag": {"name": "rating", **flag_fields}}))


@pytest.mark.parametrize("answer, ok, reason", [
    (health(enabled=True, percentage=25), True, "healthy"),
    (health(enabled=True, percentage=10), False, "flag 10%, want 25%"),
    (health(enabled=False, percentage=25), False, "flag off (25%), want 25%"),
    (Answer(200, json.dumps({"status": "ok", "version": "v1"})), False, "flag not reported, want 25%"),
    (Answer(200, json.dumps({"enabled": True, "percentage": 25, "version": "v1"})), True, "healthy"),  # flag.json
])
def test_health_verdict_checks_the_served_flag(answer, ok, reason):
    verdict = health_verdict(answer, None, {"enabled": True, "percentage": 25})
    assert (verdict.ok, verdict.reason) == (ok, reason)


# -- a rolling change with fake units --------------------------------------------------------------
class FakeUnit:
    def __init__(self, name, app, host, state, log, fail_on=None):
        self.name, self.app, self.host = name, app, host
        self.state, self.log, self.fail_on = state, log, fail_on

    def read(self):
        return self.state

    def apply(self, state):
        self.log.append((self.name, state.effective))
        if self.fail_on == state.effective:
            return GateResult(False, "http://x/health", "flag 10%, want 25%", 3, 1.0)
        self.state = state
        return GateResult(True, "http://x/health", "healthy", 3, 0.3)


class FakeHost:
    def __init__(self, name):
        self.name = name


class FakeFleet:
    """Fleet.run's contract: batches in order, max_fail, failures as outcomes."""

    def __init__(self, names):
        self.hosts = [FakeHost(n) for n in names]

    def run(self, work, hosts, size, max_fail, on_batch=None):
        from deploy.hosts.fleet import FleetResult, _attempt, batches
        result, failures = FleetResult(), 0
        for group in batches(hosts, size):
            outcomes = [_attempt(work, h) for h in group]
            result.outcomes.extend(outcomes)
            failures += sum(1 for o in outcomes if not o.ok)
            if failures > max_fail:
                result.aborted = True
                break
        return result


class FakeExecutor:
    def __init__(self):
        self.undo = []

    def on_failure(self, what, action):
        self.undo.append((what, action))


@contextmanager
def journal(action, host=None, release=None):
    yield {}


def setup(fail_on=None, failing="host2"):
    log = []
    units = [FakeUnit(f"{h}/api", "api", h, FlagState(True, 10), log, fail_on if h == failing else None)
             for h in ("host1", "host2", "host3")]
    units.append(FakeUnit("host4/web", "web", "host4", FlagState(True, 10), log))
    runs = [flag.UnitRun(u) for u in units]
    fleet = FakeFleet(["host1", "host2", "host3", "host4"])
    assert flag.observe(fleet, runs, FlagState(False, 0)) == {}
    return log, runs, fleet


def test_every_unit_changes_and_one_undo_is_registered():
    log, runs, fleet = setup()
    ex = FakeExecutor()
    flag.Change(runs, FlagState(True, 25), 1, journal, ex, lambda _: None).run(fleet)
    assert sorted(log) == [("host1/api", 25), ("host2/api", 25), ("host3/api", 25), ("host4/web", 25)]
    assert [r.now for r in runs] == [FlagState(True, 25)] * 4 and all(r.changed for r in runs)
    assert [what for what, _ in ex.undo] == ["put every unit this run changed back at its previous value"]


def test_a_unit_that_does_not_serve_the_value_stops_the_app_and_the_undo_puts_back_the_changed():
    log, runs, fleet = setup(fail_on=25)
    ex = FakeExecutor()
    change = flag.Change(runs, FlagState(True, 25), 1, journal, ex, lambda _: None)
    with pytest.raises(StepFailed, match="flag not served on host2/api: host2/api: does not serve 25%"):
        change.run(fleet)
    api = [(name, pct) for name, pct in log if name.endswith("/api")]
    assert api == [("host1/api", 25), ("host2/api", 25)]          # host3 never started
    changed = sorted(r.unit.name for r in runs if r.changed)      # the web app ran alongside: maybe changed
    assert changed[:2] == ["host1/api", "host2/api"] and "host3/api" not in changed
    [(_, undo)] = ex.undo
    log.clear()
    undo()
    assert sorted(log) == [(name, 10) for name in changed]
    assert {r.unit.name: r.note for r in runs if r.changed} == {name: "put back" for name in changed}
    assert all(r.unit.read() == FlagState(True, 10) for r in runs)


def test_a_rollback_carries_on_past_a_failed_unit_and_registers_no_undo():
    log, runs, fleet = setup(fail_on=0)
    ex = FakeExecutor()
    change = flag.Change(runs, FlagState(False, 10), 1, journal, ex, lambda _: None, revert_on_failure=False)
    with pytest.raises(StepFailed, match="host2/api"):
        change.run(fleet)
    assert sorted(name for name, _ in log) == ["host1/api", "host2/api", "host3/api", "host4/web"]
    assert ex.undo == []


def test_apps_change_side_by_side():
    started = threading.Barrier(2, timeout=5)

    class Meeting(FakeUnit):
        def apply(self, state):
            started.wait()          # both apps' first units must be in flight together
            return super().apply(state)

    log = []
    runs = [flag.UnitRun(Meeting("h1/api", "api", "h1", FlagState(True, 10), log)),
            flag.UnitRun(Meeting("h2/web", "web", "h2", FlagState(True, 10), log))]
    fleet = FakeFleet(["h1", "h2"])
    flag.observe(fleet, runs, FlagState(False, 0))
    flag.Change(runs, FlagState(True, 25), 1, journal, FakeExecutor(), lambda _: None).run(fleet)
    assert len(log) == 2

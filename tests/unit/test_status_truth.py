"""status tells the truth: runs started and never finished (from the journal), and a process
serving another release than its `current` link."""

from __future__ import annotations

from datetime import datetime, timedelta

from deploy.db.journal import Event
from deploy.process.base import ProcessState
from deploy.operate.status import HostStatus, Served
from deploy.operate.unfinished import unfinished_runs

T0 = datetime(2026, 12, 1, 12, 0, 0)


def ev(minute: int, phase: str, action: str, outcome: str = "ok", host: str | None = None, id: int = 0) -> Event:
    return Event(at=T0 + timedelta(minutes=minute), environment="t", phase=phase, action=action,
                 outcome=outcome, actor="ci@runner", host=host, id=id or minute)


def test_a_killed_run_is_its_start_without_a_finish_and_says_what_it_did():
    events = [ev(0, "phase2", "start"), ev(1, "phase2", "switch", host="h1"), ev(2, "phase2", "restart", host="h1"),
              ev(3, "phase2", "switch", host="h2"), ev(4, "phase1", "start"), ev(5, "phase1", "finish")]
    [run] = unfinished_runs(list(reversed(events)))          # newest first, as the journal reads
    assert run.phase == "phase2"
    assert [(e.action, e.host) for e in run.done] == [("switch", "h1"), ("restart", "h1"), ("switch", "h2")]
    assert run.describe() == ("phase2 started 2026-12-01 12:00:00 UTC by ci@runner never finished (killed, or "
                              "still running); it had done: switch h1, restart h1, switch h2")


def test_a_rerun_that_finished_settles_the_killed_one():
    events = [ev(0, "phase2", "start"), ev(1, "phase2", "switch", host="h1"),
              ev(10, "phase2", "start"), ev(11, "phase2", "finish")]
    assert unfinished_runs(events) == []


def test_failed_steps_are_named_and_a_failed_finish_is_still_a_finish():
    events = [ev(0, "phase3", "start"), ev(1, "phase3", "reload", outcome="failed", host="w1")]
    [run] = unfinished_runs(events)
    assert run.describe().endswith("it had done: nothing; failed: reload w1")
    assert unfinished_runs(events + [ev(2, "phase3", "finish", outcome="undone")]) == []


def test_nothing_journaled_is_nothing_unfinished():
    assert unfinished_runs([]) == []


def row(linked: str, serving: Served, state: str = "running") -> HostStatus:
    return HostStatus(host="h2", address="10.0.0.2", reachable=True,
                      apps={"api": ProcessState("marketplace-api", state)},
                      releases={"api": linked}, serving={"api": serving})


def test_a_process_serving_another_release_than_current_is_a_problem():
    url = "http://10.0.0.2:3000/health"
    assert row("r2", Served(url, "r2")).problems() == []
    assert row("r2", Served(url, "r1")).problems() == [
        "h2/api: serves r1 but current is r2 (switched, not restarted: re-run the phase or roll back)"]
    assert row("r2", Served(url, None, "connection refused or reset")).problems() == [
        f"h2/api: connection refused or reset on {url}"]


def test_an_app_with_a_release_whose_process_is_down_is_a_problem():
    """A killed deploy can leave the app stopped with its release linked: nothing serves it, and
    status must exit 1 for it, not only show the state."""
    url = "http://10.0.0.2:3000/health"
    for state in ("stopped", "fatal", "errored", "absent"):
        assert row("r2", Served(url, "r1"), state=state).problems() == [
            f"h2/api: current is r2 but its process is {state}: nothing serves it "
            "(invoke restart, re-run the phase, or roll back)"], state
    assert row("r2", Served(url, "r2"), state="starting").problems() == []   # a restart under way
    never = HostStatus(host="h2", address="10.0.0.2", reachable=True,
                       apps={"api": ProcessState("marketplace-api", "absent", detail="not deployed")},
                       releases={"api": None})
    assert never.problems() == []                                           # nothing deployed: nothing down
    detailed = row("r2", Served(url, "r2"), state="fatal")
    detailed.apps["api"] = ProcessState("marketplace-api", "fatal", detail="Exited too quickly")
    assert detailed.problems()[0].startswith("h2/api: current is r2 but its process is fatal (Exited too quickly)")


def test_a_finished_rollback_settles_a_killed_deploy_but_an_unrelated_phase_does_not():
    killed = [ev(0, "phase2", "start"), ev(1, "phase2", "switch", host="h1")]
    assert unfinished_runs(killed + [ev(2, "rollback-backend", "start"), ev(3, "rollback-backend", "finish")]) == []
    [still] = unfinished_runs(killed + [ev(2, "phase4", "start"), ev(3, "phase4", "finish")])
    assert still.phase == "phase2"
    later_kill = [ev(5, "phase2", "start"), ev(6, "phase2", "switch", host="h1")]
    [before] = unfinished_runs([ev(0, "rollback-backend", "start"), ev(1, "rollback-backend", "finish")] + later_kill)
    assert before.phase == "phase2"                      # a rollback before the kill settles nothing


def test_a_process_serving_another_flag_than_its_env_file_is_a_problem():
    from deploy.flag.rollout import FlagState

    url = "http://10.0.0.2:3000/health"
    at = {10: FlagState(True, 10), 25: FlagState(True, 25)}
    base = row("r2", Served(url, "r2", flag=at[10]))
    base.flags = {"api": at[25]}
    assert base.problems() == ["h2/api: serves flag 10% but its env file says 25% (written, not reloaded: re-run "
                               "the phase 3 step or rollback.frontend --flag-off)"]
    assert base.as_dict()["apps"]["api"]["serving_flag"] == {"enabled": True, "percentage": 10, "effective": 10}
    base.flags = {"api": at[10]}
    assert base.problems() == []
    base.serving = {"api": Served(url, "r2")}                # an app that reports no flag: nothing to compare
    base.flags = {"api": at[25]}
    assert base.problems() == []

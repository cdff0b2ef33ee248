"""Phase 3 on three real sshd hosts (two API hosts, one SSR web host, supervisord on each): the
whole ladder with the gates judging real requests, a 5xx burst that trips the observation gate,
and a host cut off mid-step. The hosts are shared by the tests of this module (phase 2 and the
first web release are done once); each test starts from the flag at 10% (the failures put it
back there; the ladder runs last)."""

from __future__ import annotations

import json
import threading

import pytest

from tests.integration.test_phase2_support import TEST_JWT_SECRET, journal_events, wait_for
from tests.integration.test_phase3_support import web_project


@pytest.fixture(scope="module")
def live(fleet_factory, tmp_path_factory):
    """The API released by phase 2, then deploy.phase3 --rollout 10: the web release and 10%."""
    fleet = fleet_factory(3)
    project = web_project(tmp_path_factory.mktemp("phase3"), fleet)
    proc, doc = project.deploy()
    assert proc.returncode == 0, proc.stderr
    first, doc = project.phase3("--rollout", "10")
    assert first.returncode == 0, first.stderr
    project.first = (first, doc)
    yield project
    fleet.stop()


def at_10(project) -> None:
    if set(project.served().values()) != {10}:
        proc, _ = project.phase3("--rollout", "10")
        assert proc.returncode == 0, proc.stderr
    assert set(project.served().values()) == {10}


def test_api_answering_5xx_trips_the_observation_gate_and_reverts(live):
    project = live
    at_10(project)

    broken = threading.Event()

    def break_api_once_25_is_live():
        wait_for(lambda: all(project.served()[f"{h.name}/api"] == 25 for h in project.api_hosts), timeout=60)
        project.ratings_switch(on=False)
        broken.set()

    breaker = threading.Thread(target=break_api_once_25_is_live, daemon=True)
    breaker.start()
    try:
        # an observation window long enough that the breaker, polling /health, always lands in it
        # (on a loaded machine a 1 s window could close before the API is broken)
        proc, doc = project.phase3("--rollout", "25", "--observe", "8s")
        breaker.join(timeout=60)
    finally:
        if broken.is_set():
            project.ratings_switch(on=True)

    assert broken.is_set(), "the API was never broken: 25% never became live on every API host"
    assert proc.returncode == 1, proc.stderr
    assert "metrics gate over 8s after the change failed" in doc["error"] and "error rate" in doc["error"]
    assert "HTTP 503, want 200" in doc["error"]                 # which check failed how
    assert set(project.served().values()) == {10}               # every host back at the previous value
    assert [u["ok"] for u in doc["undo"]] == [True]            # one undo: every changed unit, in parallel
    assert {u["note"] for u in doc["units"]} == {"put back"}
    assert project.rollouts()[-1][0] == "failed"                # no successful move to 25 journaled
    assert [e[2] for e in journal_events(project, "phase3") if e[0] == "finish"][-1] == "undone"


def test_unreachable_host_mid_step_puts_every_host_back(live):
    project = live
    at_10(project)
    project.set_environment(batches={"size": 1, "max_fail": 0})   # api-1, then api-2 (web alongside)
    first, second = project.api_hosts

    run = project.invoke("deploy.phase3", "--rollout", "25", "--json", wait=False)
    try:
        wait_for(lambda: project.flag(first) == {"enabled": True, "percentage": 25}, timeout=60)
        second.cut_ssh()                 # before its turn: the network to it is gone
        stdout, stderr = run.communicate(timeout=90)
    finally:
        second.restore_ssh()
        project.set_environment(batches={"size": 2, "max_fail": 0})

    assert run.returncode == 1, stderr
    doc = json.loads(stdout)
    assert second.name in doc["error"]
    assert set(project.served().values()) == {10}        # api-1 and the web host put back; api-2 untouched
    notes = {u["unit"]: u["note"] for u in doc["units"]}
    assert notes[f"{first.name}/api"] == "put back"
    assert notes[f"{project.web_hosts[0].name}/web"] == "put back"
    assert notes[f"{second.name}/api"].startswith("unreachable")
    [undo] = doc["undo"]                                 # only the cut-off host could not be checked
    assert not undo["ok"] and second.name in undo["error"] and first.name not in undo["error"]


def test_the_whole_ladder_with_api_and_web_hosts(live):
    project = live
    first, doc = project.first
    # the first step released the web app (rolling, health-gated), then moved the flag 0 -> 10
    assert doc["release"] and doc["previous"] == 0 and doc["percentage"] == 10 and doc["direction"] == "up"
    assert doc["gate"]["ok"] and doc["gate"]["samples"] >= 20 and doc["observe"]["ok"]
    assert {u["unit"] for u in doc["units"]} == {f"{h.name}/api" for h in project.api_hosts} | \
        {f"{h.name}/web" for h in project.web_hosts}
    at_10(project)

    dry = project.invoke("deploy.phase3", "--rollout", "25", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "flag 10% -> 25% - dry run, nothing changes" in dry.stdout
    assert "awk -v on=true -v pct=25" in dry.stdout and "until it serves flag 25%" in dry.stdout
    assert set(project.served().values()) == {10} and TEST_JWT_SECRET not in dry.stdout + dry.stderr
    journaled = len(project.rollouts())

    for step in (25, 50, 100):
        proc, doc = project.phase3("--rollout", str(step))
        assert proc.returncode == 0, proc.stderr
        assert (doc["previous"], doc["percentage"]) == ({25: 10, 50: 25, 100: 50}[step], step)
        assert doc["observe"]["ok"] and doc["observe"]["error_percent"] == 0
        assert set(project.served().values()) == {step}

    # down is always allowed, ungated, journaled as a rollback
    down, doc = project.phase3("--rollout", "50")
    assert down.returncode == 0, down.stderr
    assert doc["direction"] == "down" and doc["gate"] is None and doc["observe"] is None
    assert set(project.served().values()) == {50}

    # the env files: only the flag's lines changed, still 0600, the secret in no output
    for host in project.api_hosts:
        text = host.run("cat /srv/marketplace/api/shared/api.env").stdout
        assert "ENABLE_RATING_FEATURE=true\n" in text and "RATING_ROLLOUT_PERCENTAGE=50\n" in text
        assert f"JWT_SECRET={TEST_JWT_SECRET}" in text
        assert host.run("stat -c %a /srv/marketplace/api/shared/api.env").stdout.strip() == "600"

    status = project.invoke("status", "--json")
    assert status.returncode == 0, status.stderr
    flags = {(h["host"], app): a["flag"] for h in json.loads(status.stdout)["hosts"] for app, a in h["apps"].items()}
    assert set(flags) == {(h.name, "api") for h in project.api_hosts} | {(h.name, "web") for h in project.web_hosts}
    assert {f["effective"] for f in flags.values()} == {50}

    # rollback.frontend --flag-off keeps the percentage; the next step up starts again at 10
    off = project.invoke("rollback.frontend", "--flag-off", "--json")
    assert off.returncode == 0, off.stderr
    assert {(project.flag(h) or {}).get("enabled") for h in project.api_hosts} == {False}
    assert project.flag(project.web_hosts[0], project.web_port()) == {"enabled": False, "percentage": 50}
    skip, _ = project.phase3("--rollout", "50")
    assert skip.returncode == 2 and "the next stage is 10%" in skip.stderr

    # the journal: exactly what the monitoring report reads
    assert len(project.rollouts()) == journaled + 5                # the dry run journaled nothing
    ok = [(d["percentage"], d["previous"]) for outcome, d in project.rollouts() if outcome == "ok"]
    assert ok[0] == (10, 0) and ok[-5:] == [(25, 10), (50, 25), (100, 50), (50, 100), (0, 50)]
    assert [e[2] for e in journal_events(project, "rollback-frontend") if e[0] == "finish"] == ["ok"]
    for proc in (first, down, status, off):
        assert TEST_JWT_SECRET not in proc.stdout + proc.stderr

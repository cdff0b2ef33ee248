"""Phase 3 SIGKILLed between two hosts' flag reloads (nothing runs on its way out), on four sshd
hosts (three API hosts reloaded one at a time, one SSR web host alongside): `status` says which
unit serves which flag value - the process's own answer beside its env file - and names the
phase 3 that never finished; a re-run of the same step, or rollback.frontend --flag-off from the
same state, leaves every unit on one value (issue 14)."""

from __future__ import annotations

import json
import signal
import time

from tests.integration.test_phase2_support import journal_events, wait_for
from tests.integration.test_phase3_support import web_project


def kill_between_flag_reloads(project, step: str) -> None:
    """Start deploy.phase3 --rollout STEP and SIGKILL it once the first API host serves the new
    value (journaled): the next API host's turn may have begun, the last one's has not (the test
    asserts that)."""
    api = {h.name for h in project.api_hosts}
    before = len(journal_events(project, "phase3"))
    proc = project.invoke("deploy.phase3", "--rollout", step, "--json", wait=False)
    try:
        def reloaded() -> bool:
            events = journal_events(project, "phase3")[before:]
            return any(action == "flag" and host in api and outcome == "ok" for action, host, outcome, _ in events)
        wait_for(lambda: reloaded() or proc.poll() is not None, timeout=180)
        assert proc.poll() is None, f"phase 3 ended before its first API reload: {proc.communicate()}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(3)   # let a restart the killed client had already sent over SSH finish on its host


def units(project):
    """(host, app, port) of every unit."""
    return [(h, "api", project.port) for h in project.api_hosts] + \
        [(h, "web", project.web_port()) for h in project.web_hosts]


def env_file_flag(host, app: str) -> dict | None:
    text = host.run(f"cat /srv/marketplace/{app}/shared/{app}.env").stdout
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "ENABLE_RATING_FEATURE" not in values:
        return None
    return {"enabled": values["ENABLE_RATING_FEATURE"] == "true",
            "percentage": int(values["RATING_ROLLOUT_PERCENTAGE"])}


def status(project) -> tuple[int, dict]:
    proc = project.invoke("status", "--json")
    return proc.returncode, json.loads(proc.stdout)


def assert_status_tells_the_truth(project, doc) -> None:
    """Per unit: the flag its process answers and the flag its env file holds, as the hosts say
    them now; a difference is a named problem."""
    rows = {r["host"]: r for r in doc["hosts"]}
    for host, app, port in units(project):
        entry = rows[host.name]["apps"][app]
        serving, written = project.flag(host, port), env_file_flag(host, app)
        shown = entry["serving_flag"]
        assert (shown and {"enabled": shown["enabled"], "percentage": shown["percentage"]}) == serving, entry
        assert {"enabled": entry["flag"]["enabled"], "percentage": entry["flag"]["percentage"]} == written, entry
        flagged = any(p.startswith(f"{host.name}/{app}: serves flag") for p in doc["problems"])
        assert flagged == (serving is not None and serving != written), (host.name, app, doc["problems"])


def one_flag_everywhere(project) -> dict:
    served = {(h.name, app): project.flag(h, port) for h, app, port in units(project)}
    assert len({json.dumps(v, sort_keys=True) for v in served.values()}) == 1 and None not in served.values(), served
    for h, app, _ in units(project):
        assert env_file_flag(h, app) == served[(h.name, app)], (h.name, app)
    return next(iter(served.values()))


def test_killed_phase3_is_reported_and_a_rerun_or_flag_off_converges(tmp_path, fleet_factory):
    fleet = fleet_factory(4)
    try:
        project = web_project(tmp_path, fleet, web_hosts=1, batches={"size": 1, "max_fail": 0})
        proc, _ = project.deploy()
        assert proc.returncode == 0, proc.stderr
        proc, _ = project.phase3("--rollout", "10")
        assert proc.returncode == 0, proc.stderr
        assert one_flag_everywhere(project) == {"enabled": True, "percentage": 10}

        kill_between_flag_reloads(project, "25")
        first, *_, last = project.api_hosts
        assert project.flag(first) == {"enabled": True, "percentage": 25}
        assert project.flag(last) == {"enabled": True, "percentage": 10}       # never reached
        code, doc = status(project)
        assert code == 1
        [unfinished] = doc["database"]["unfinished"]
        assert unfinished["phase"] == "phase3" and "never finished" in unfinished["text"]
        assert (("flag", first.name) in {(d["action"], d["host"]) for d in unfinished["done"]})
        assert_status_tells_the_truth(project, doc)

        # the state a kill between a unit's write and its reload leaves, made certain on one unit
        last.run("sed -i 's/^RATING_ROLLOUT_PERCENTAGE=.*/RATING_ROLLOUT_PERCENTAGE=25/' "
                 "/srv/marketplace/api/shared/api.env")
        code, doc = status(project)
        assert code == 1
        assert f"{last.name}/api: serves flag 10% but its env file says 25%" in " ".join(doc["problems"])
        assert_status_tells_the_truth(project, doc)

        rerun, doc = project.phase3("--rollout", "25")                  # the lock is free: no exit 3
        assert rerun.returncode == 0, rerun.stderr
        assert one_flag_everywhere(project) == {"enabled": True, "percentage": 25}
        code, doc = status(project)
        assert code == 0 and doc["problems"] == [] and doc["database"]["unfinished"] == [], doc

        kill_between_flag_reloads(project, "50")
        assert project.flag(first) == {"enabled": True, "percentage": 50}
        off = project.invoke("rollback.frontend", "--flag-off", "--json")
        assert off.returncode == 0, off.stdout + off.stderr
        assert one_flag_everywhere(project) == {"enabled": False, "percentage": 25}   # the journaled 25, off
        code, doc = status(project)
        assert code == 0 and doc["problems"] == [] and doc["database"]["unfinished"] == [], doc
    finally:
        fleet.stop()

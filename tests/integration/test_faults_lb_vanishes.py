"""The load balancer vanishes (HAProxy SIGKILLed) between two hosts of a drained rolling deploy:
the deploy stops before it touches the next host, every host is left consistent (its link and its
process on one release, healthy), and the error names the hosts that may still be in maint;
exit 1 (issue 14).

The moment is exact: the deploy reaches HAProxy's admin socket through a relay that kills HAProxy
right after it has answered host1's `state ready`, and then refuses connections as HAProxy would."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.integration.test_faults_support import app_pids
from tests.integration.test_phase2_haproxy import haproxy_for  # noqa: F401  (the fixture)
from tests.integration.test_phase2_support import journal_events, make_project
from tests.support.admin_relay import AdminRelay

LAST = "set server marketplace-api/host1 state ready"


def haproxy_pid(config: Path) -> int:
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and str(config).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                return int(entry)
        except OSError:
            pass
    raise AssertionError(f"no HAProxy running {config}")


def test_haproxy_killed_between_two_hosts_stops_the_deploy_and_names_hosts_in_maint(
        tmp_path, fleet3, haproxy_for):  # noqa: F811
    project = make_project(tmp_path, fleet3)
    front, admin = haproxy_for(fleet3, project.port)
    project.set_environment(load_balancer=admin)
    proc, doc = project.deploy()
    assert proc.returncode == 0, proc.stderr
    v1 = doc["release"]
    pids = {h.name: app_pids(h) for h in fleet3.hosts}

    pid = haproxy_pid(tmp_path / "haproxy.cfg")

    def kill_after_last(command: str) -> bool:
        if command != LAST:
            return False
        os.kill(pid, signal.SIGKILL)     # and the relay refuses connections from now on, as HAProxy would
        return True

    relay = AdminRelay(admin, kill_after_last)
    project.set_environment(load_balancer=relay.endpoint, batches={"size": 1, "max_fail": 0})
    before = len(journal_events(project, "phase2"))
    proc, doc = project.deploy(timeout=180)
    assert relay.closed.is_set(), relay.commands
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v2 = doc["release"]

    # stopped at host2's first step: its drain never reached a load balancer
    events = journal_events(project, "phase2")[before:]
    steps = [(a, h, o) for a, h, o, _ in events if a in ("drain", "switch", "restart", "health", "ready")]
    assert steps[:5] == [(a, "host1", "ok") for a in ("drain", "switch", "restart", "health", "ready")]
    assert steps[5:] == [("drain", "host2", "failed")], steps
    assert "rollout failed on host2: load balancer" in doc["error"] and "Connection refused" in doc["error"]
    assert ("hosts that may still be in maint at the load balancer: host2 (the load balancer does not "
            "answer, so this run cannot tell)") in doc["error"], doc["error"]
    assert "may still be in maint at the load balancer: host2" in proc.stderr

    # every host consistent: link and process on one release, healthy; host3 never touched
    for host in fleet3.hosts:
        assert project.current(host) == (project.health(host) or {}).get("version"), host.name
    rows = {r["host"]: r for r in doc["hosts"]}
    assert rows["host3"]["note"] == "untouched" and app_pids(fleet3.host("host3")) == pids["host3"]
    assert rows["host2"]["note"] == "untouched" and app_pids(fleet3.host("host2")) == pids["host2"]
    assert project.current(fleet3.host("host2")) == project.current(fleet3.host("host3")) == v1
    # host1 was back in traffic on v2; its undo must drain it first and cannot (no load balancer),
    # so it is left serving v2, healthy, rather than restarted under traffic: the table says so
    assert project.current(fleet3.host("host1")) == rows["host1"]["now"] == v2
    assert rows["host1"]["note"] == f"NOT switched back (undo failed); runs {v2}", rows["host1"]

"""`invoke restart` behind a real HAProxy under bounded load (the phase 2 harness): no request is
lost, each host being drained before its restart and put back after its health gate. When a host
fails its gate the roll stops there: that host stays out of the load balancer, the later batch
is not touched, and still no request is lost."""

from __future__ import annotations

import json
import time

import tests.integration.test_phase2_haproxy as harness
from deploy.commands import haproxy as hx
from deploy.lb.admin import HAProxy
from tests.integration.test_phase2_support import (API_UNHEALTHY, APP_DIR, journal_events,
                                                   make_project)

haproxy_for = harness.haproxy_for   # the fixture: HAProxy in front of the fleet, stopped at the end


def task(project, *args, **kw):
    """`invoke ARGS --env fleet` from the repository (logs and restart come from tasks.py)."""
    return project.invoke(*args, **kw)


def servers(admin: str) -> dict[str, hx.ServerState]:
    return hx.parse_servers_state(HAProxy(admin).send(hx.show_servers_state("marketplace-api")))


def test_restart_behind_haproxy_loses_no_request(tmp_path, fleet3, haproxy_for):
    project = make_project(tmp_path, fleet3, batches={"size": 1, "max_fail": 0})
    front, admin = haproxy_for(fleet3, project.port)
    project.set_environment(load_balancer=admin)
    proc, doc = project.deploy()
    assert proc.returncode == 0, proc.stderr
    release = doc["release"]
    h1, h2, h3 = fleet3.hosts

    with harness.Load(front) as load:
        time.sleep(0.5)                        # traffic flows before the restart starts ...
        proc = task(project, "restart", "--json", timeout=90)
        time.sleep(0.5)                        # ... and after it ends
    assert proc.returncode == 0, proc.stderr
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"
    assert load.sent >= 300 and set(load.versions) == {release}
    rows = json.loads(proc.stdout)["hosts"]
    assert all(r["pid_after"] and r["pid_after"] != r["pid_before"] for r in rows)
    assert all(s.ready and s.operational == "running" for s in servers(admin).values())
    events = journal_events(project, "restart")
    for action in ("drain", "restart", "health", "ready"):
        assert [e[1] for e in events if e[0] == action] == [h1.name, h2.name, h3.name], action

    # the release host2 runs now answers 500: its gate fails, the roll stops before host3
    project.set_smoke(**{"deadline: 8s": "deadline: 3s"})    # the gate gives up sooner
    h2.run(f"cat > {APP_DIR}/current/marketplace/api.py <<'EOF'\n{API_UNHEALTHY}\nEOF")
    pid3 = json.loads(proc.stdout)["hosts"][2]["pid_after"]
    with harness.Load(front) as load:
        time.sleep(0.3)
        proc = task(project, "restart", "--json", timeout=90)
        time.sleep(0.3)
    assert proc.returncode == 1
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"
    doc = json.loads(proc.stdout)
    states = {r["host"]: r for r in doc["hosts"]}
    assert states[h1.name]["state"] == "restarted, healthy, back in the load balancer"
    assert states[h2.name]["state"].startswith("restarted, NOT healthy (not healthy within 3s: HTTP 500)")
    assert states[h2.name]["state"].endswith("out of the load balancer (maint)")
    assert states[h3.name]["state"] == "untouched" and states[h3.name]["pid_before"] == pid3
    assert f"{h2.name}: restarted, NOT healthy" in doc["error"] and f"{h3.name}: untouched" in doc["error"]
    assert "restart stopped:" in proc.stderr and h2.name in proc.stderr
    lb = servers(admin)
    assert lb[h2.name].maint and not lb[h2.name].ready
    assert lb[h1.name].ready and lb[h3.name].ready
    finish = [e for e in journal_events(project, "restart") if e[0] == "finish"]
    assert [e[2] for e in finish] == ["ok", "failed"]

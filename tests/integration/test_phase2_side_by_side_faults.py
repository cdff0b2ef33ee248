"""Faults of the side-by-side switch (issue 12.2) on 4 sshd hosts behind a real HAProxy, under
bounded load: the LB's admin socket goes away between two hosts' switches, and Ctrl-C after half
of the switches. Each exits 1 and leaves every host where the load balancer sends its traffic -
back where it was wherever the LB could be moved back - and the per-host table says so.

The moment is exact: the deploy reaches HAProxy's admin socket through a relay that acts right
after it has relayed a given runtime command (the second step of a host's switch)."""

from __future__ import annotations

import os
import re
import signal
import time

from tests.integration.test_phase2_haproxy import Load
from tests.integration.test_phase2_side_by_side import (  # noqa: F401  (fixtures)
    deploy, fleet4, haproxy_slots, lb_ports, load_for_slow_machines, running, side_by_side_project, slot_of,
    version_on)
from tests.integration.test_phase2_support import journal_events
from tests.support.admin_relay import AdminRelay

BACKEND = "marketplace-api"


def set_server(host: str, state: str) -> str:
    return f"set server {BACKEND}/{host} state {state}"


def second_release(tmp_path, fleet, haproxy_slots):  # noqa: F811
    """v1 deployed side by side (it serves from green on every host); the next release boots in blue."""
    project, front, admin = side_by_side_project(tmp_path, fleet, haproxy_slots)
    proc, doc = deploy(project)
    assert proc.returncode == 0, proc.stderr
    assert [slot_of(h) for h in fleet.hosts] == ["green"] * 4
    return project, front, admin, doc["release"]


def rows_of(out: str, title: str) -> dict[str, str]:
    """The per-host table after `title` in the human output (wide enough not to wrap): host -> its cells."""
    rows = {}
    for line in out[out.index(title):].splitlines()[1:]:
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and re.fullmatch(r"host\d+", cells[0]):
            rows[cells[0]] = " | ".join(cells)
    return rows


def test_the_lb_admin_socket_gone_between_two_switches_leaves_each_host_where_the_lb_sends_it(
        tmp_path, fleet4, haproxy_slots):  # noqa: F811
    project, front, admin, v1 = second_release(tmp_path, fleet4, haproxy_slots)
    hosts = fleet4.hosts
    # host1's switch (its blue server ready, its green one drained) reaches HAProxy; then the socket is gone
    relay = AdminRelay(admin, lambda command: command.startswith(set_server("host1-green", "drain")))
    project.set_environment(load_balancer=relay.endpoint)
    with Load(front) as load:
        time.sleep(0.3)
        proc, doc = deploy(project)
        time.sleep(0.3)
    assert relay.closed.is_set(), relay.commands
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v2 = doc["release"]
    assert "host2" in doc["error"] and "load balancer" in doc["error"], doc["error"]
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"

    # HAProxy (asked directly) still sends host1's traffic to its new blue slot, the others' to green
    assert lb_ports(admin) == sorted([project.port] + [project.alt_port] * 3)
    # host1 is left as the LB sees it, consistent: links, slot record and process on v2 (blue);
    # switching its links back or stopping its new slot would cut what the LB still sends there
    first, rest = hosts[0], hosts[1:]
    assert (project.current(first), slot_of(first), version_on(first, project.port)) == (v2, "blue", v2)
    rows = {r["host"]: r for r in doc["hosts"]}
    assert rows["host1"]["now"] == v2 and rows["host1"]["note"] == f"NOT switched back (undo failed); runs {v2}"
    # the hosts the LB never moved are back where they were: v1 serves from green
    for host in rest:
        assert (project.current(host), slot_of(host), version_on(host, project.alt_port)) == (v1, "green", v1)
        assert rows[host.name]["now"] == v1 and rows[host.name]["note"] == "untouched", rows[host.name]
    # hosts 3 and 4 were never moved: their new slot is stopped; host2's move was cut half-way
    # (the LB cannot say whether its blue server took traffic), so its new slot is left running
    assert [running(h, BACKEND) for h in rest] == [True, False, False]
    failed = {u["undo"] for u in doc["undo"] if not u["ok"]}
    assert failed == {f"put host1 back on {v1} (green slot)", f"put host2 back on {v1} (green slot)"}, doc["undo"]
    assert all("load balancer" in u["error"] for u in doc["undo"] if not u["ok"]), doc["undo"]
    # host1's copy of v2 stays (it runs it); the others' are removed
    assert [project.releases_on(h) for h in hosts] == [sorted([v1, v2])] + [[v1]] * 3


def test_ctrl_c_after_half_the_switches_puts_every_host_back(tmp_path, fleet4, haproxy_slots):  # noqa: F811
    project, front, admin, v1 = second_release(tmp_path, fleet4, haproxy_slots)
    hosts = fleet4.hosts
    invoked: list = []

    def interrupt(command: str) -> bool:   # right after host2's switch reached HAProxy: Ctrl-C
        if command.startswith(set_server("host2-green", "drain")):
            os.kill(invoked[0].pid, signal.SIGINT)
        return False

    relay = AdminRelay(admin, interrupt)
    project.set_environment(load_balancer=relay.endpoint)
    before = len(journal_events(project, "phase2"))
    with Load(front) as load:
        time.sleep(0.3)
        invoked.append(project.invoke("deploy.phase2", wait=False, extra={"COLUMNS": "200"}))
        stdout, stderr = invoked[0].communicate(timeout=240)
        time.sleep(0.3)
    assert invoked[0].returncode == 1, stdout + stderr
    assert "interrupted" in stderr
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"

    # Ctrl-C came in host2's switch (its LB part done, its links under way): two of four moved
    events = journal_events(project, "phase2")[before:]
    switched = [h for a, h, o, _ in events if a == "switch"]
    assert switched == ["host1", "host2"], switched

    # every host back where it was: the LB on green, v1 linked and serving there, the new slots
    # stopped, the new release removed
    assert lb_ports(admin) == [project.alt_port] * 4
    for host in hosts:
        assert (project.current(host), slot_of(host), version_on(host, project.alt_port)) == (v1, "green", v1)
        assert not running(host, BACKEND), host.name
        assert project.releases_on(host) == [v1], host.name
    finish = [e for e in journal_events(project, "phase2") if e[0] == "finish"][-1]
    assert finish[2] == "undone"
    # the per-host table says so: the switched hosts were switched back, the others untouched
    rows = rows_of(stdout, "What each host runs now")
    assert sorted(rows) == [h.name for h in hosts], stdout
    assert all("switched back" in rows[h] for h in switched), rows
    assert all("untouched" in rows[h.name] for h in hosts if h.name not in switched), rows

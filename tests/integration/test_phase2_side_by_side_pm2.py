"""The side-by-side switch under pm2 (issue 12.2; the other side-by-side tests run supervisord):
each slot is its own pm2 app (marketplace-api, marketplace-api-green) with its own ecosystem
file, the old slot's app is deleted after the switch, and `invoke restart` restarts the serving
slot's app. 2 sshd hosts behind a real HAProxy with two servers per host."""

from __future__ import annotations

import json

import requests

from tests.integration.test_phase2_side_by_side import (  # noqa: F401  (fixture)
    deploy, haproxy_slots, lb_ports, side_by_side_project, slot_of, version_on)
from tests.integration.test_phase2_support import PM2


def pm2_apps(host) -> dict[str, tuple[str, int]]:
    """name -> (status, pid) of the host's pm2 apps."""
    out = host.run(f"PM2_HOME=/run/pm2 {PM2} jlist").stdout
    apps = json.loads(out[out.index("["):])
    return {a["name"]: (a["pm2_env"]["status"], a["pid"]) for a in apps}


def test_side_by_side_under_pm2_alternates_apps_and_restarts_the_serving_one(tmp_path, fleet_factory,
                                                                           haproxy_slots):  # noqa: F811
    fleet = fleet_factory(2)
    try:
        project, front, admin = side_by_side_project(tmp_path, fleet, haproxy_slots, manager="pm2")
        hosts = fleet.hosts

        proc, doc = deploy(project)
        assert proc.returncode == 0, proc.stderr
        v1 = doc["release"]
        assert [slot_of(h) for h in hosts] == ["green"] * 2 and lb_ports(admin) == [project.alt_port] * 2
        assert [set(pm2_apps(h)) for h in hosts] == [{"marketplace-api-green"}] * 2
        assert [version_on(h, project.alt_port) for h in hosts] == [v1] * 2

        # restart: the green app gets a new pid; no blue app appears
        before = {h.name: pm2_apps(h)["marketplace-api-green"][1] for h in hosts}
        restart = project.invoke("restart", "--json")
        assert restart.returncode == 0, restart.stdout + restart.stderr
        for host in hosts:
            apps_now = pm2_apps(host)
            assert set(apps_now) == {"marketplace-api-green"} and apps_now["marketplace-api-green"][0] == "online"
            assert apps_now["marketplace-api-green"][1] != before[host.name]
        assert lb_ports(admin) == [project.alt_port] * 2

        # the next release boots as the blue app beside it, the LB moves, the green app is deleted
        proc, doc = deploy(project)
        assert proc.returncode == 0, proc.stderr
        v2 = doc["release"]
        assert [slot_of(h) for h in hosts] == ["blue"] * 2 and lb_ports(admin) == [project.port] * 2
        assert [set(pm2_apps(h)) for h in hosts] == [{"marketplace-api"}] * 2
        assert {requests.get(front + "/health", timeout=5).json()["version"] for _ in range(6)} == {v2}
    finally:
        fleet.stop()

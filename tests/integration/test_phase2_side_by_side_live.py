"""After a side-by-side release the process that serves is the slot's (marketplace-api-green on
alt_port), not the app's base program: `invoke restart` and deploy.phase3's flag reload act on
that slot - its process, its env file, its LB server - and the flag reaches what HAProxy serves
(issue 12.2). 2 sshd hosts behind a real HAProxy with two servers per host."""

from __future__ import annotations

import json

import requests
import yaml

from tests.integration.test_phase2_side_by_side import (  # noqa: F401  (fixture)
    APP_DIR, deploy, haproxy_slots, lb_ports, running, side_by_side_project, slot_of)
from tests.integration.test_phase3_support import FAST_GATE

GREEN = "marketplace-api-green"


def served_flags(front: str, n: int = 12) -> set[tuple[bool, int]]:
    """The flags HAProxy's frontend serves (round robin over the hosts)."""
    seen = set()
    for _ in range(n):
        flag = requests.get(front + "/health", timeout=5).json()["flag"]
        seen.add((flag["enabled"], flag["percentage"]))
    return seen


def test_restart_and_a_flag_reload_reach_the_serving_slot(tmp_path, fleet_factory, haproxy_slots):  # noqa: F811
    fleet = fleet_factory(2)
    try:
        project, front, admin = side_by_side_project(tmp_path, fleet, haproxy_slots)
        file = project.root / "environments" / "fleet.yaml"
        data = yaml.safe_load(file.read_text())
        data["env"].update({"ENABLE_RATING_FEATURE": "false", "RATING_ROLLOUT_PERCENTAGE": "0"})
        file.write_text(yaml.safe_dump(data, sort_keys=False))
        (project.root / "checks" / "rollout.yaml").write_text(FAST_GATE)
        hosts = fleet.hosts
        proc, doc = deploy(project)
        assert proc.returncode == 0, proc.stderr
        v1 = doc["release"]
        assert [slot_of(h) for h in hosts] == ["green"] * 2 and lb_ports(admin) == [project.alt_port] * 2

        # invoke restart: the green process gets a new pid, the base program stays stopped
        restart = project.invoke("restart", "--json")
        assert restart.returncode == 0, restart.stdout + restart.stderr
        rows = json.loads(restart.stdout)["hosts"]
        assert all(r["pid_before"] and r["pid_after"] and r["pid_before"] != r["pid_after"] for r in rows), rows
        assert all(r["health"]["url"].endswith(f":{project.alt_port}/health") for r in rows), rows
        assert not any(running(h, "marketplace-api") for h in hosts)
        assert all(running(h, GREEN) for h in hosts)
        assert lb_ports(admin) == [project.alt_port] * 2       # the green servers back in traffic

        # the flag to 25%: written into the green slot's env file, the green process reloaded
        proc = project.invoke("deploy.phase3", "--rollout", "25", "--force", "--skip-soak", "--reason", "test",
                              "--json", timeout=240)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert served_flags(front) == {(True, 25)}
        for host in hosts:
            green_env = host.run(f"cat {APP_DIR}/shared/api-green.env").stdout
            assert "RATING_ROLLOUT_PERCENTAGE=25" in green_env and "ENABLE_RATING_FEATURE=true" in green_env
        assert not any(running(h, "marketplace-api") for h in hosts) and lb_ports(admin) == [project.alt_port] * 2
        status = json.loads(project.invoke("status", "--json").stdout)["hosts"]
        # status reads the green env file too: what it says and what the slot serves agree
        assert [(r["apps"]["api"]["flag"], r["apps"]["api"]["serving_flag"], r["problems"]) for r in status] == \
            [({"enabled": True, "percentage": 25, "effective": 25},) * 2 + ([],)] * 2, status

        # a dry run prints what the engine applies: the blue slot boots beside green, the LB moves
        dry = project.invoke("deploy.phase2", "--dry-run", extra={"COLUMNS": "300"})
        assert dry.returncode == 0, dry.stdout + dry.stderr
        for host in hosts:
            for line in (f"lb      set server marketplace-api/{host.name} state ready",
                         f"lb      set server marketplace-api/{host.name}-green state drain",
                         f"{host.name}: lb      set server marketplace-api/{host.name}-green state maint",
                         f"gate    GET http://{host.address}:{project.port}/health until 200"):
                assert line in dry.stdout, (line, dry.stdout)
        dry = project.invoke("restart", "--dry-run", extra={"COLUMNS": "300"})
        assert dry.returncode == 0 and "set server marketplace-api/host1-green state drain" in dry.stdout, dry.stdout

        # the next release boots in blue with the flag's live value and takes over
        proc, doc = deploy(project)
        assert proc.returncode == 0, proc.stderr
        assert doc["release"] != v1 and [slot_of(h) for h in hosts] == ["blue"] * 2
        assert served_flags(front) == {(True, 25)}
    finally:
        fleet.stop()

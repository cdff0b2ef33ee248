"""The side-by-side switch (issue 12.2) through the real `invoke` on 4 sshd hosts behind a real
HAProxy, under bounded load: every host boots the new release on its other slot while the old
one serves, then the LB moves host by host and the old slots drain and stop. The backend has a server per slot and host: <host> (blue, the app's port) and <host>-green
(alt_port, `disabled` at first). A release that fails its gate on one host switches nothing."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time

import pytest
import requests
import yaml

from deploy.commands import haproxy as hx
from deploy.lb.admin import HAProxy
from deploy.process import Supervisor
from tests.integration import test_phase2_haproxy
from tests.integration.test_phase2_haproxy import Load
from tests.integration.test_phase2_support import APP_DIR, VENV_BIN, journal_events, make_project
from tests.support import haproxy as lb

CONF = "/srv/marketplace/supervisor/supervisord.conf"
SUPERVISOR = Supervisor(CONF, bin_dir=str(VENV_BIN))


@pytest.fixture(autouse=True)
def load_for_slow_machines(monkeypatch):
    """The load lasts until the deploy ends on a busy machine too (still bounded)."""
    monkeypatch.setattr(test_phase2_haproxy, "LOAD_DEADLINE", 400)
    monkeypatch.setattr(test_phase2_haproxy, "MAX_REQUESTS", 100_000)


@pytest.fixture
def fleet4(fleet_factory):
    fleet = fleet_factory(4)
    yield fleet
    fleet.stop()


def start_haproxy(workdir, fleet, port: int, alt_port: int) -> tuple[str, str, subprocess.Popen]:
    """HAProxy with two servers per host: <host> on `port` (blue) and <host>-green on `alt_port`,
    declared `disabled`. Returns the frontend URL, the admin endpoint and the process."""
    return lb.start(workdir, [line for h in fleet.hosts for line in (
        f"server {h.name} {h.address}:{port}", f"server {h.name}-green {h.address}:{alt_port} disabled")])


@pytest.fixture
def haproxy_slots(tmp_path):
    """haproxy_slots(fleet, port, alt_port) -> (frontend URL, admin endpoint); HAProxy is
    stopped (by its pid) at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(fleet, port: int, alt_port: int) -> tuple[str, str]:
        front, admin, proc = start_haproxy(tmp_path, fleet, port, alt_port)
        started.append(proc)
        return front, admin

    yield start
    for proc in started:
        lb.stop(proc)


def side_by_side_project(tmp_path, fleet, haproxy_slots, manager: str = "supervisor"):
    project = make_project(tmp_path, fleet, manager=manager, batches={"size": len(fleet.hosts), "max_fail": 0})
    project.alt_port = project.port + 1000
    front, admin = haproxy_slots(fleet, project.port, project.alt_port)
    file = project.root / "environments" / "fleet.yaml"
    apps = yaml.safe_load(file.read_text())["apps"]
    apps["api"]["alt_port"] = project.alt_port
    project.set_environment(load_balancer=admin, switch="side_by_side", apps=apps)
    return project, front, admin


def deploy(project, timeout: float = 240):
    """deploy.phase2 through `invoke`; a run that does not end says how far it got."""
    try:
        return project.deploy(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"deploy.phase2 did not end in {timeout}s:\n{exc.stderr}") from None


def lb_ports(admin: str) -> list[int]:
    """The ports HAProxy sends new requests to (its servers not in maint or drain)."""
    states = hx.parse_servers_state(HAProxy(admin).send(hx.show_servers_state("marketplace-api")))
    return sorted(s.port for s in states.values() if s.ready)


def slot_of(host) -> str:
    return host.run(f"cat {APP_DIR}/slot 2>/dev/null || echo blue").stdout.strip()


def running(host, process: str) -> bool:
    """supervisord calls `process` RUNNING on the host (asked as `invoke status` asks)."""
    res = host.run(SUPERVISOR.status_command([process]).render(), check=False)
    return SUPERVISOR.state_of(SUPERVISOR.parse_status(res.stdout, res.returncode), process).running


def version_on(host, port: int) -> str | None:
    try:
        return requests.get(f"http://{host.address}:{port}/health", timeout=2).json()["version"]
    except (OSError, ValueError, requests.RequestException):
        return None


def test_side_by_side_deploy_under_load_loses_no_request_and_alternates_slots(tmp_path, fleet4, haproxy_slots):
    project, front, admin = side_by_side_project(tmp_path, fleet4, haproxy_slots)
    hosts = fleet4.hosts
    proc, doc = deploy(project)
    assert proc.returncode == 0, proc.stderr
    v1 = doc["release"]
    # the first release booted in green (nothing served in blue) and the LB moved there
    assert [slot_of(h) for h in hosts] == ["green"] * 4
    assert lb_ports(admin) == [project.alt_port] * 4
    assert requests.get(front + "/health", timeout=5).json()["version"] == v1

    with Load(front) as load:
        time.sleep(0.5)                  # traffic flows before the release starts ...
        proc, doc = deploy(project)
        time.sleep(0.5)                  # ... and after it ends
    assert proc.returncode == 0, proc.stderr
    v2 = doc["release"]
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"
    assert load.sent >= 300
    assert load.versions[v1] > 0 and load.versions[v2] > 0   # the switch happened under load

    # the next deploy alternated: blue serves v2 on the app's port, green (v1) is stopped
    assert [slot_of(h) for h in hosts] == ["blue"] * 4
    assert lb_ports(admin) == [project.port] * 4
    assert [project.current(h) for h in hosts] == [v2] * 4
    assert [version_on(h, project.port) for h in hosts] == [v2] * 4
    assert not any(running(h, "marketplace-api-green") for h in hosts)

    # every host of the batch booted and passed its gate before the first one was switched
    events = [(a, h, o) for a, h, o, _ in journal_events(project, "phase2")]
    second = events[max(i for i, e in enumerate(events) if e[0] == "build"):]
    order = [a for a, _, o in second if a in ("boot", "health", "switch", "stop-old") and o == "ok"]
    assert order.count("boot") == 4 and order.count("switch") == 4 and order.count("stop-old") == 4
    assert max(i for i, a in enumerate(order) if a == "health") < order.index("switch")
    assert max(i for i, a in enumerate(order) if a == "switch") < order.index("stop-old")

    # rollback.backend knows the slot: v1 boots in green beside v2, the LB moves back
    with Load(front) as load:
        time.sleep(0.3)
        back = project.invoke("rollback.backend", "--json", timeout=240)
        time.sleep(0.3)
    assert back.returncode == 0, back.stdout + back.stderr
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"
    assert [slot_of(h) for h in hosts] == ["green"] * 4
    assert lb_ports(admin) == [project.alt_port] * 4
    assert [project.current(h) for h in hosts] == [v1] * 4
    assert not any(running(h, "marketplace-api") for h in hosts)

    # status reads the slot record: the green process serves v1, as `current` says
    status = project.invoke("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = json.loads(status.stdout)["hosts"]
    assert [(r["apps"]["api"]["process"], r["apps"]["api"]["state"], r["apps"]["api"]["serving"],
             r["apps"]["api"]["release"]) for r in rows] == [("marketplace-api-green", "running", v1, v1)] * 4


class Squatter:
    """Something else listening on one host's free slot port: that host's new release cannot start."""

    def __init__(self, address: str, port: int):
        class Other(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'{"status": "ok", "version": "not-ours"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, port), Other)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_gate_failing_on_one_host_switches_no_host_of_the_batch(tmp_path, fleet4, haproxy_slots):
    project, front, admin = side_by_side_project(tmp_path, fleet4, haproxy_slots)
    hosts = fleet4.hosts
    proc, doc = deploy(project)
    assert proc.returncode == 0, proc.stderr
    v1 = doc["release"]

    # host 3's blue port is taken by another server: its new release cannot listen there
    with Squatter(hosts[2].address, project.port), Load(front) as load:
        time.sleep(0.3)
        proc, doc = deploy(project)
        time.sleep(0.3)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert hosts[2].name in doc["error"]
    # the per-host table: every host on v1, none switched
    assert [(r["host"], r["now"], r["switched"], r["note"]) for r in doc["hosts"]] == \
        [(h.name, v1, False, "untouched") for h in hosts]
    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"
    assert set(load.versions) == {v1}                       # nothing else ever served

    # no host was switched: the LB, the links and the slot records are where they were
    assert lb_ports(admin) == [project.alt_port] * 4
    assert [slot_of(h) for h in hosts] == ["green"] * 4
    assert [project.current(h) for h in hosts] == [v1] * 4
    assert [version_on(h, project.alt_port) for h in hosts] == [v1] * 4
    # the new processes were stopped everywhere (the three that passed their gate too)
    assert not any(running(h, "marketplace-api") for h in hosts)
    assert [project.releases_on(h) for h in hosts] == [[v1]] * 4
    events = journal_events(project, "phase2")
    second = events[max(i for i, e in enumerate(events) if e[0] == "build"):]
    failed = {h for a, h, o, _ in second if a in ("boot", "health") and o == "failed"}
    passed = {h for a, h, o, _ in second if a == "health" and o == "ok"}
    assert failed == {hosts[2].name} and passed == {h.name for h in hosts} - failed
    assert not [e for e in second if e[0] == "switch"]

"""A rolling deploy behind a real HAProxy (Debian's, admin socket on 127.0.0.1) under bounded
load loses no request: each host is drained and put in maint before its switch and restart, and
comes back to ready only after its health gate passes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter

import pytest
import requests

from deploy.commands import haproxy as hx
from deploy.lb.admin import HAProxy
from tests.integration.test_phase2_support import journal_events, make_project
from tests.support import haproxy as lb

MAX_REQUESTS = 20_000      # the load is bounded: this many at most ...
LOAD_DEADLINE = 90         # ... within this many seconds at most
WORKERS = 6


@pytest.fixture
def haproxy_for(tmp_path):
    """haproxy_for(fleet, app_port) -> (frontend URL, admin endpoint): HAProxy in front of the
    fleet's API hosts; stopped (by its pid) at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(fleet, app_port: int) -> tuple[str, str]:
        front, admin, proc = lb.start(tmp_path, [f"server {h.name} {h.address}:{app_port}" for h in fleet.hosts])
        started.append(proc)
        return front, admin

    yield start
    for proc in started:
        lb.stop(proc)


class Load:
    """WORKERS threads GET /health through HAProxy until told to stop (or the bound is hit)."""

    def __init__(self, url: str):
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.failures: list[str] = []
        self.versions: Counter = Counter()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(WORKERS)]

    def _work(self) -> None:
        session = requests.Session()
        session.trust_env = False
        deadline = time.monotonic() + LOAD_DEADLINE
        while not self.stop.is_set() and time.monotonic() < deadline:
            with self.lock:
                if self.sent >= MAX_REQUESTS:
                    return
                self.sent += 1
            try:
                resp = session.get(self.url + "/health", timeout=5)
                if resp.status_code != 200:
                    raise RuntimeError(f"HTTP {resp.status_code}")
                version = resp.json()["version"]
                with self.lock:
                    self.versions[version] += 1
            except Exception as exc:  # every kind of loss counts
                with self.lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


def test_rolling_deploy_behind_haproxy_loses_no_request(tmp_path, fleet3, haproxy_for):
    project = make_project(tmp_path, fleet3)
    front, admin = haproxy_for(fleet3, project.port)
    project.set_environment(load_balancer=admin)
    proc, doc = project.deploy()
    assert proc.returncode == 0, proc.stderr
    v1 = doc["release"]
    assert requests.get(front + "/health", timeout=5).json()["version"] == v1

    project.set_environment(batches={"size": 1, "max_fail": 0})
    with Load(front) as load:
        time.sleep(0.5)                  # traffic flows before the rollout starts
        proc, doc = project.deploy(timeout=90)
        time.sleep(0.5)                  # ... and after it ends
    assert proc.returncode == 0, proc.stderr
    v2 = doc["release"]

    assert load.failures == [], f"{len(load.failures)} of {load.sent} lost: {load.failures[:5]}"
    assert load.sent >= 300
    assert load.versions[v1] > 0 and load.versions[v2] > 0   # the switch happened under load
    states = HAProxy(admin).send(hx.show_servers_state("marketplace-api"))
    assert all(s.ready and s.operational == "running" for s in hx.parse_servers_state(states).values())
    drains = [e for e in project_events(project) if e[0] == "drain"]
    assert len(drains) == 6      # both deploys drained each host


def project_events(project) -> list[tuple]:
    return journal_events(project, "phase2")

"""Shared by the phase 2 benches (no bench here): a throwaway workspace of sshd test hosts and
HAProxy built outside pytest from the integration tests' own helpers, and one timed `invoke`
under bounded load through HAProxy, counting the failed requests.

    with Workspace("bench-x-") as ws:
        fleet = ws.fleet(4)
        project = make_project(ws.dir("p4"), fleet, ...)
        front, admin = ws.haproxy(fleet, project.port, project.port + 1000)
        seconds, code, failed, sent = timed_deploy(project, load_url=front)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from tests.integration.test_phase2_haproxy import Load  # noqa: E402
from tests.integration.test_phase2_side_by_side import start_haproxy  # noqa: E402
from tests.support.fleet import _check_system, _Factory  # noqa: E402


class Workspace:
    """A temporary folder, a fleet factory and the HAProxy processes started in it; all stopped
    (by their pids) on exit."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.haproxies = []

    def __enter__(self) -> "Workspace":
        sshd = _check_system()
        self._tmp = tempfile.TemporaryDirectory(prefix=self.prefix)
        self.root = Path(self._tmp.name)
        (self.root / "fleet").mkdir()
        self.factory = _Factory(self.root / "fleet", sshd)
        return self

    def dir(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        return folder

    def fleet(self, hosts: int):
        return self.factory(hosts)

    def haproxy(self, fleet, port: int, alt_port: int, workdir: Path | None = None) -> tuple[str, str]:
        """HAProxy before the fleet: blue servers on `port`, green (disabled) on `alt_port`.
        Returns the frontend URL and the admin endpoint."""
        front, admin, proc = start_haproxy(workdir or self.root, fleet, port, alt_port)
        self.haproxies.append(proc)
        return front, admin

    def __exit__(self, *exc) -> None:
        try:
            for proc in self.haproxies:
                proc.terminate()
                proc.wait(timeout=10)
            self.factory.stop_all()
        finally:
            self._tmp.cleanup()


def edit_environment(project, **changes) -> None:
    """Set keys of environments/fleet.yaml; a dict value for `apps` merges into each app named."""
    file = project.root / "environments" / "fleet.yaml"
    data = yaml.safe_load(file.read_text())
    for key, value in changes.items():
        if key == "apps":
            for app, fields in value.items():
                data["apps"][app].update(fields)
        else:
            data[key] = value
    file.write_text(yaml.safe_dump(data, sort_keys=False))


def set_mode(project, mode: str, batch: int) -> None:
    """switch: in_place or side_by_side, in batches of `batch` hosts."""
    edit_environment(project, switch=mode, batches={"size": batch, "max_fail": 0})


def timed(call, load_url: str | None = None) -> tuple[float, object, int | None, int | None]:
    """call() timed (wall clock); under load through `load_url` when given:
    (seconds, what call returned, failed requests, sent requests) - None, None without load."""
    if load_url is None:
        started = time.monotonic()
        result = call()
        return time.monotonic() - started, result, None, None
    with Load(load_url) as load:
        time.sleep(0.3)                 # traffic flows before ...
        started = time.monotonic()
        result = call()
        seconds = time.monotonic() - started
        time.sleep(0.3)                 # ... and after
    return seconds, result, len(load.failures), load.sent


def timed_deploy(project, *args: str, load_url: str | None = None) -> tuple[float, int, int | None, int | None]:
    """One `invoke deploy.phase2` (interpreter start included): (seconds, exit code, failed, sent)."""
    seconds, (proc, _doc), failed, sent = timed(lambda: project.deploy(*args, timeout=600), load_url)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
    return seconds, proc.returncode, failed, sent


def load_average() -> float:
    return os.getloadavg()[0]

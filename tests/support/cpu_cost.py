"""What each test costs in CPU, everything it started included (DEPLOY_TEST_CPU=FILE).

The suite is CPU-bound on 2 cores: its wall time is its CPU time over the cores, so the tests to
make cheaper are the ones that burn the most CPU, not the ones that wait longest. Each pytest
process (every xdist worker) moves itself into a cgroup (v1 cpuacct, or v2) of its own; every
process a test starts - invoke, ssh, the sshd hosts, pm2, PostgreSQL - inherits it, however it
daemonizes. A test's cost is the cgroup's CPU from its setup to its teardown (a shared fixture's
start-up is charged to the first test that asks for it). One line per test is appended to FILE:
`<cpu seconds>\t<wall seconds>\t<nodeid>`; bench/suite_cpu.py turns it into a table.

Off unless DEPLOY_TEST_CPU is set; needs root (it writes to /sys/fs/cgroup).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOTS = (Path("/sys/fs/cgroup/cpuacct"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
METER: "Meter | None" = None     # this pytest process's meter while measuring: tests may time their steps


class Meter:
    def __init__(self, group: Path):
        self.group = group
        self.v1 = (group / "cpuacct.usage").exists()

    def seconds(self) -> float:
        if self.v1:
            return int((self.group / "cpuacct.usage").read_text()) / 1e9
        for line in (self.group / "cpu.stat").read_text().splitlines():
            key, value = line.split()
            if key == "usage_usec":
                return int(value) / 1e6
        raise RuntimeError(f"{self.group}/cpu.stat has no usage_usec")


def own_group(name: str) -> Meter:
    for root in ROOTS:
        if (root / "cpuacct.usage").exists() or (root / "cgroup.controllers").exists():
            group = root / name
            group.mkdir(exist_ok=True)
            (group / "cgroup.procs").write_text(str(os.getpid()))
            return Meter(group)
    raise RuntimeError("no writable cpu cgroup under /sys/fs/cgroup")


def pytest_configure(config):
    target = os.environ.get("DEPLOY_TEST_CPU")
    if not target:
        return
    global METER
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    METER = own_group(f"deploy-tests-{os.getpid()}-{worker}")
    config._cpu_cost = (METER, Path(target))


def cpu_seconds() -> float | None:
    """CPU seconds of everything this pytest process started so far, None when not measuring."""
    return METER.seconds() if METER is not None else None


def timed(label: str, started_wall: float, started_cpu: float | None) -> str:
    """'<label> in 12s' (with ', 7 CPU-s' when measuring), for a test's own progress lines."""
    cpu = cpu_seconds()
    used = f", {cpu - started_cpu:.0f} CPU-s" if cpu is not None and started_cpu is not None else ""
    return f"{label} in {time.monotonic() - started_wall:.0f}s{used}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    state = getattr(item.config, "_cpu_cost", None)
    if state is None:
        yield
        return
    meter, target = state
    cpu, wall = meter.seconds(), time.monotonic()
    yield
    cpu, wall = meter.seconds() - cpu, time.monotonic() - wall
    with target.open("a") as out:
        out.write(f"{cpu:.2f}\t{wall:.2f}\t{item.nodeid}\n")

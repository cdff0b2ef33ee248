"""Where the wall time of one phase 2 goes: every SSH round trip, connection, gate and journal step
on a time line (bench/README.md, "trace_phase2.py").

    .venv/bin/python bench/trace_phase2.py [--hosts 1] [--runs 1] [--scenario phase2|side_by_side|rollback]

On a fresh sshd test fleet (supervisord), the bench's project (bench_phase2.slow_boot_project: a
4 MB release of an app that boots in 1 s), one untimed warm-up deploy, then `invoke deploy.phase2`
run by a small wrapper that times, in the invoke process itself: each SSHHost connection opened,
run (one exec channel), feed and put (a channel with data), each HAProxy runtime command, each
health gate and smoke check, and the time from the process start to the first line of the task.
Prints the time line (seconds since the process started) and the sum per kind, then what the
first host's logs say happened on it on the same clock (supervisord's spawned / RUNNING /
stopped, the app's listening / stopping / stopped: where a stop's time goes), then the
journal's steps (longest host).

Scenarios: phase2 (default: no load balancer, one batch of --hosts); side_by_side (HAProxy before
the fleet, switch: side_by_side in one batch, under bench_phase2's bounded load); rollback
(the same, then each traced run is `invoke rollback.backend` after an untimed deploy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime

from bench_phase2 import journal_mark, slow_boot_project, steps_since
from fleetbench import ROOT, Workspace, edit_environment, set_mode

from tests.integration.test_phase2_haproxy import Load

SCENARIOS = ("phase2", "side_by_side", "rollback")

# Runs inside the traced `invoke`: wraps the methods that wait on a host or a URL, then runs invoke.
TRACER = r"""
import os, sys, threading, time
T0 = float(os.environ["TRACE_T0"])
LOG = []
def note(kind, host, started, what):
    LOG.append((started - T0, time.time() - started, kind, host, what))
def wrap(owner, name, kind, host_of, what_of):
    inner = getattr(owner, name, None)
    if inner is None:    # an older checkout (no Host.feed)
        return
    def timed(*args, **kw):
        started = time.time()
        try:
            return inner(*args, **kw)
        finally:
            note(kind, host_of(args), started, what_of(args))
    setattr(owner, name, timed)
note("interpreter up", "-", T0, "process start -> this line")
import deploy.hosts.fleet as hosts, deploy.gates.health as gates
note("imports", "-", T0, "deploy.hosts.fleet imported (paramiko, fabric, invoke)")
import deploy.phases.phase2 as phase2, deploy.releases.artifact as artifact
note("imports", "-", T0, "deploy.phases.phase2 imported")
wrap(phase2, "phase2", "task", lambda a: "-", lambda a: "deploy.phase2 (after invoke and the config)")
wrap(phase2, "rollback_backend", "task", lambda a: "-", lambda a: "rollback.backend (after invoke and the config)")
wrap(artifact, "prepare", "build", lambda a: "-", lambda a: "pack + sha256")
wrap(hosts.SSHHost, "run", "run", lambda a: a[0].name, lambda a: str(a[1])[:90])
wrap(hosts.SSHHost, "feed", "feed", lambda a: a[0].name, lambda a: f"{len(a[2])} sources")
wrap(hosts.SSHHost, "put", "put", lambda a: a[0].name, lambda a: a[2])
wrap(hosts.SSHHost, "stream", "stream", lambda a: a[0].name, lambda a: str(a[1])[:90])
import deploy.lb.admin as lb
wrap(lb.HAProxy, "send", "lb", lambda a: "-", lambda a: a[1][:90])
wrap(gates, "wait_healthy", "gate", lambda a: "-", lambda a: a[0])
wrap(gates, "run_smoke", "smoke", lambda a: "-", lambda a: "")
import deploy.db.journal as event_journal
wrap(event_journal, "record", "journal", lambda a: "-", lambda a: "one deploy_events row")
inner_open = hosts.SSHHost._connection
def opened(self):
    had = self._conn is not None and self._conn.is_connected
    started = time.time()
    conn = inner_open(self)
    if not had:
        note("connect", self.name, started, "ssh connection opened")
    return conn
hosts.SSHHost._connection = opened
from invoke.main import program
try:
    program.run(["invoke", *sys.argv[1:]], exit=False)
finally:
    end = time.time() - T0
    for at, took, kind, host, what in sorted(LOG):
        print(f"TRACE {at:7.3f} +{took:6.3f}  {kind:<14} {host:<8} {what}", file=sys.stderr)
    sums = {}
    for _, took, kind, _, _ in LOG:
        sums[kind] = sums.get(kind, 0) + took
    print(f"TRACE end {end:.3f} s; summed per kind: "
          + ", ".join(f"{k} {v:.2f}" for k, v in sums.items()), file=sys.stderr)
"""


def traced(project, *args: str) -> tuple[float, int, list[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(project.root), "CI": "true", **project.extra_env})
    started = time.time()
    env["TRACE_T0"] = repr(started)
    proc = subprocess.run([sys.executable, "-c", TRACER, *args, "--env", "fleet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    seconds = time.time() - started
    lines = [line for line in proc.stderr.splitlines() if line.startswith("TRACE")]
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
    return seconds, proc.returncode, lines, started


HOST_LOGS = ("tail -n 40 /srv/marketplace/supervisor/supervisord.log; "
             "grep -h -E '\"(stopping|stopped|listening)\"' /srv/marketplace/api/shared/logs/*.out.log | tail -n 12")


def host_events(host, since: float) -> list[str]:
    """The host's supervisord.log lines and the app's listening/stopping/stopped lines after
    `since` (epoch seconds), as seconds from it: when a spawn, a stop, an exit really happened."""
    events = []
    for line in host.run(HOST_LOGS, check=False).stdout.splitlines():
        at, what = None, line
        if line.startswith("{"):
            record = json.loads(line)
            at = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
            what = f"app {record['msg']}" + (f" port {record['port']}" if "port" in record else "")
        elif len(line) > 23 and line[4] == "-" and line[10] == " ":
            at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()   # local time
            what = "supervisord " + line[24:].removeprefix("INFO ")
        if at is not None and at >= since:
            events.append((at - since, what[:110]))
    return [f"{at:7.3f}  {host.name:<8} {what}" for at, what in sorted(events)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1, help="hosts in the fleet, one batch (default 1)")
    parser.add_argument("--runs", type=int, default=1, help="traced runs after the warm-up (default 1)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="phase2",
                        help="phase2 (no LB), side_by_side (HAProxy), rollback (rollback.backend behind HAProxy)")
    args = parser.parse_args()
    with Workspace("trace-phase2-") as ws:
        fleet = ws.fleet(args.hosts)
        project, release = slow_boot_project(ws, "traced", fleet, args.hosts)
        front = None
        if args.scenario != "phase2":
            alt_port = project.port + 1000
            front, admin = ws.haproxy(fleet, project.port, alt_port, workdir=ws.dir("traced-lb"))
            edit_environment(project, apps={"api": {"alt_port": alt_port}}, load_balancer=admin)
            set_mode(project, "side_by_side", args.hosts)
        warm = project.deploy("--artifact", release.fresh(), timeout=600)[0]
        print(f"warm-up deploy exit {warm.returncode}; load average {os.getloadavg()[0]:.1f}")
        for n in range(args.runs):
            if args.scenario == "rollback":
                print(f"untimed deploy exit {project.deploy('--artifact', release.fresh(), timeout=600)[0].returncode}")
                task = ["rollback.backend", "--json"]
            else:
                task = ["deploy.phase2", "--json", "--artifact", release.fresh()]
            mark = journal_mark(project)
            if front is None:
                seconds, code, lines, started = traced(project, *task)
            else:
                with Load(front) as load:
                    seconds, code, lines, started = traced(project, *task)
                print(f"load: {len(load.failures)} failed of {load.sent} requests")
            print(f"\nrun {n + 1}: {seconds:.2f} s wall, exit {code}, load average {os.getloadavg()[0]:.1f}")
            print("\n".join(line.removeprefix("TRACE ") for line in lines))
            print("on the host (its logs, seconds from the process start):")
            print("\n".join(host_events(fleet.hosts[0], started)))
            print("journal (longest host): " + ", ".join(f"{k} {v:.2f}" for k, v in steps_since(project, mark).items()))
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

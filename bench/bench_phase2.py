"""Benchmark: issue 12's phase 2 targets on the test fleet (4 MB release, app booting in 1 s).

Each as wall seconds and as a ratio to the floor (one boot + the health gate's passes).

    .venv/bin/python bench/bench_phase2.py [--runs 3] [--scenarios 1,4lb,4rolling,rollback,16]

Needs what the integration tests need (root, sshd, unshare, HAProxy, supervisord in the venv).
Scenarios, each on its own fresh fleet of sshd hosts (tests/support/fleet.py), supervisord:
  1         1 host, no load balancer
  4lb       4 hosts behind HAProxy, zero downtime: the side-by-side switch (the default with a
            load balancer), one batch of 4, under bounded load (6 threads GET /health through
            HAProxy), failed requests counted
  4rolling  the same fleet in_place, drained one host at a time (the other HAProxy mode; run
            before 4lb: a fleet may go from in_place to side_by_side, not back)
  rollback  `invoke rollback.backend` on those 4 hosts under load (each run after a deploy)
  16        16 hosts in one batch, no load balancer
Each timed run is `invoke deploy.phase2 --artifact DIR` (wall clock, interpreter start included)
of a release tree with a fresh 4 MB random file (incompressible: every run ships 4 MB anew),
after one warm-up deploy per scenario. The app is the stand-in API started behind `sleep 1`.
The gate is checks/smoke.yaml as shipped (the floor is read from it).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from fleetbench import ROOT, Workspace, edit_environment, load_average, set_mode, timed, timed_deploy

from deploy.gates import health as gates
from tests.integration.test_phase2_support import PYTHON, make_project

BOOT = 1.0                      # the app's boot, seconds (its start command sleeps this long first)
RELEASE_BYTES = 4 << 20         # 4 MB
SCENARIOS = ("1", "4rolling", "4lb", "rollback", "16")
TARGETS = {"1": "<= 2.0", "4lb": "<= 3.0", "4rolling": "none (issue: 19.9-21.4 today)",
           "rollback": "<= 2.0", "16": "<= 4.0"}
TITLES = {"1": "1 host", "4lb": "4 hosts, HAProxy, side_by_side (zero downtime)",
          "4rolling": "4 hosts, HAProxy, in_place rolling (batches of 1)",
          "rollback": "rollback.backend, 4 hosts, HAProxy", "16": "16 hosts, one batch, no LB"}
SHIPPED_SMOKE = (ROOT / "checks" / "smoke.yaml").read_text()


class Release:
    """A release tree as CI builds it, with a 4 MB random file rewritten before every deploy."""

    def __init__(self, project, folder: Path):
        self.tree = project.build_tree(folder, "release")
        self.blob = self.tree / "marketplace" / "payload.bin"

    def fresh(self) -> str:
        self.blob.write_bytes(os.urandom(RELEASE_BYTES))
        return str(self.tree)


def slow_boot_project(ws: Workspace, name: str, fleet, batch: int):
    project = make_project(ws.dir(name), fleet, batches={"size": batch, "max_fail": 0}, smoke=SHIPPED_SMOKE)
    start = f"/bin/sh -c 'sleep {BOOT:g} && exec {PYTHON} -m marketplace.api --env-file {{env_file}}'"
    edit_environment(project, apps={"api": {"start": start}})
    return project, Release(project, ws.dir(name + "-build"))


def deploy(project, release: Release, load_url: str | None = None):
    return timed_deploy(project, "--artifact", release.fresh(), load_url=load_url)


def rollback(project, load_url: str) -> tuple[float, int, int | None, int | None]:
    seconds, proc, failed, sent = timed(lambda: project.invoke("rollback.backend", "--json", timeout=600), load_url)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
    return seconds, proc.returncode, failed, sent


def journal_mark(project) -> int:
    """The last deploy_events id of the project's journal (0 when empty)."""
    db = sqlite3.connect(project.root / "db.sqlite")
    try:
        found = db.execute("SELECT name FROM sqlite_master WHERE name = 'deploy_events'").fetchone()
        return db.execute("SELECT coalesce(max(rowid), 0) FROM deploy_events").fetchone()[0] if found else 0
    finally:
        db.close()


def steps_since(project, mark: int) -> dict[str, float]:
    """Seconds per journaled step after `mark`: the longest host for per-host steps."""
    db = sqlite3.connect(project.root / "db.sqlite")
    try:
        rows = db.execute("SELECT action, max(duration_ms) FROM deploy_events WHERE rowid > ? "
                          "AND duration_ms IS NOT NULL GROUP BY action ORDER BY min(rowid)", (mark,)).fetchall()
    finally:
        db.close()
    return {action: ms / 1000 for action, ms in rows}


def runs_of(name: str, n: int, one, project, prepare=None) -> dict:
    """n timed runs of one(), each after prepare() (not timed) when given."""
    loads, runs, steps = [load_average()], [], []
    for i in range(n):
        if prepare:
            prepare()
        mark = journal_mark(project)
        runs.append(one())
        steps.append(steps_since(project, mark))
        loads.append(load_average())
        print(f"  {name} run {i + 1}: {runs[-1][0]:.1f}s exit {runs[-1][1]}; steps (longest host) "
              + ", ".join(f"{k} {v:.1f}" for k, v in steps[-1].items()), file=sys.stderr)
    return {"runs": runs, "loads": loads, "steps": steps}


def warm(name: str, project, release: Release, load_url: str | None = None) -> bool:
    seconds, code, *_ = deploy(project, release, load_url)
    print(f"{name}: warm-up deploy {seconds:.1f}s exit {code}", file=sys.stderr)
    return code == 0


def bench(args) -> dict:
    chosen = [s for s in SCENARIOS if s in args.scenarios]
    results: dict[str, dict] = {}
    with Workspace("bench-phase2-") as ws:
        if "1" in chosen:
            fleet = ws.fleet(1)
            project, release = slow_boot_project(ws, "one", fleet, 1)
            if warm("1", project, release):
                results["1"] = runs_of("1", args.runs, lambda: deploy(project, release), project)
            fleet.stop()

        if {"4rolling", "4lb", "rollback"} & set(chosen):
            fleet = ws.fleet(4)
            project, release = slow_boot_project(ws, "four", fleet, 1)
            alt_port = project.port + 1000
            front, admin = ws.haproxy(fleet, project.port, alt_port, workdir=ws.dir("four-lb"))
            edit_environment(project, apps={"api": {"alt_port": alt_port}}, load_balancer=admin)
            if "4rolling" in chosen:
                set_mode(project, "in_place", 1)
                if warm("4rolling", project, release, front):
                    results["4rolling"] = runs_of("4rolling", args.runs, lambda: deploy(project, release, front), project)
            set_mode(project, "side_by_side", 4)
            if warm("4lb", project, release, front):       # the move to slots
                if "4lb" in chosen:
                    results["4lb"] = runs_of("4lb", args.runs, lambda: deploy(project, release, front), project)
                if "rollback" in chosen:
                    results["rollback"] = runs_of(   # each after a deploy: a release to go back from
                        "rollback", args.runs, lambda: rollback(project, front), project,
                        prepare=lambda: deploy(project, release, front))
            fleet.stop()

        if "16" in chosen:
            fleet = ws.fleet(16)
            project, release = slow_boot_project(ws, "sixteen", fleet, 16)
            if warm("16", project, release):
                results["16"] = runs_of("16", args.runs, lambda: deploy(project, release), project)
            fleet.stop()
    return results


def table(results: dict, runs: int, floor: float, policy) -> str:
    lines = [f"phase 2 on the test fleet: 4 MB release, app boots in {BOOT:g} s; median of {runs} warm runs; "
             f"floor = boot {BOOT:g} s + gate {policy.shortest:g} s ({policy.passes} passes "
             f"{gates.spacing_text(policy.interval)} apart, checks/smoke.yaml) = {floor:g} s",
             "",
             "| scenario | wall s (each run) | median s | / floor | target s | exit codes | failed / sent requests "
             "| load avg (1 min) during |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in SCENARIOS:
        if name not in results:
            continue
        rows, loads = results[name]["runs"], results[name]["loads"]
        secs = [r[0] for r in rows]
        median = statistics.median(secs)
        failed = ("-" if rows[0][2] is None else
                  f"{sum(r[2] for r in rows)} / {sum(r[3] for r in rows)}")
        lines.append(f"| {TITLES[name]} | {', '.join(f'{s:.1f}' for s in secs)} | {median:.1f} | "
                     f"{median / floor:.1f}x | {TARGETS[name]} | {', '.join(str(r[1]) for r in rows)} | "
                     f"{failed} | {min(loads):.1f}-{max(loads):.1f} |")
    lines += ["", "Where the median run's time went (journal: seconds of each step, the longest host):", ""]
    for name in SCENARIOS:
        if name not in results:
            continue
        secs = [r[0] for r in results[name]["runs"]]
        steps = results[name]["steps"][secs.index(statistics.median_low(secs))]
        lines.append(f"- {TITLES[name]}: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per scenario, median reported (default 3)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)} (default: all)")
    args = parser.parse_args()
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown or args.runs < 1:
        print(f"error: unknown scenario {', '.join(unknown)} (use {', '.join(SCENARIOS)})" if unknown
              else "error: --runs must be at least 1", file=sys.stderr)
        return 2
    policy = gates.load_spec(ROOT).health
    floor = BOOT + policy.shortest
    started = time.monotonic()
    results = bench(args)
    print()
    print(table(results, args.runs, floor, policy))
    print(f"\n{time.monotonic() - started:.0f} s in all; {os.cpu_count()} CPUs; "
          f"load average now {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    missing = [s for s in args.scenarios if s not in results]
    if missing:
        print(f"warm-up failed, not timed: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

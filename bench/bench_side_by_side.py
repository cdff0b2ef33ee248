"""Benchmark: phase 2 on 4 hosts behind HAProxy under load - the drained rolling restart
(in_place, one host at a time) against the side-by-side switch (one batch of 4).

    .venv/bin/python bench/bench_side_by_side.py [--runs 3] [--hosts 4]

Needs what the integration tests need (root, sshd, unshare, HAProxy, supervisord in the venv).
Starts a fleet of sshd hosts (tests/support/fleet.py), HAProxy with two servers per host (blue on
the app's port, green on alt_port, disabled), deploys once to warm up, then times `invoke
deploy.phase2` (wall clock, interpreter start included) --runs times per mode while 6 threads send
GET /health through HAProxy, and counts the failed requests. in_place runs first: a fleet may go
from in_place to side_by_side, not back (see README, Side-by-side switch).
The point of the comparison: in_place costs a drain + restart + gate per host, one host after the
other; side_by_side costs about one boot + one gate for the whole batch, plus a runtime command
per host.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from fleetbench import Workspace, edit_environment, set_mode, timed_deploy

from tests.integration.test_phase2_support import make_project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed deploys per mode (default 3)")
    parser.add_argument("--hosts", type=int, default=4, help="fleet size (default 4)")
    args = parser.parse_args()
    with Workspace("bench-sbs-") as ws:
        fleet = ws.fleet(args.hosts)
        project = make_project(ws.root, fleet, batches={"size": 1, "max_fail": 0})
        alt_port = project.port + 1000
        project.front, admin = ws.haproxy(fleet, project.port, alt_port)
        edit_environment(project, apps={"api": {"alt_port": alt_port}}, load_balancer=admin)

        rows = []
        for mode in ("in_place", "side_by_side"):
            set_mode(project, mode, 1 if mode == "in_place" else args.hosts)
            warm = timed_deploy(project, load_url=project.front)   # in_place: the first install; side_by_side: the move to slots
            if warm[1] != 0:
                print(f"{mode}: warm-up deploy failed (exit {warm[1]})", file=sys.stderr)
                return 1
            runs = [timed_deploy(project, load_url=project.front) for _ in range(args.runs)]
            rows.append((mode, runs))
            print(f"{mode}: " + ", ".join(f"{s:.1f}s" for s, *_ in runs), file=sys.stderr)

    print(f"\nphase 2, {args.hosts} hosts behind HAProxy, under load (6 threads GET /health), "
          f"{args.runs} warm runs per mode\n")
    print("| mode | batches | wall s (each run) | median s | exit codes | failed / sent requests |")
    print("| --- | --- | --- | --- | --- | --- |")
    medians = {}
    for mode, runs in rows:
        secs = [r[0] for r in runs]
        medians[mode] = statistics.median(secs)
        print(f"| {mode} | {'1 host' if mode == 'in_place' else f'{args.hosts} hosts'} | "
              f"{', '.join(f'{s:.1f}' for s in secs)} | {medians[mode]:.1f} | "
              f"{', '.join(str(r[1]) for r in runs)} | "
              f"{sum(r[2] for r in runs)} / {sum(r[3] for r in runs)} |")
    print(f"\nside_by_side / in_place (medians): {medians['side_by_side'] / medians['in_place']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

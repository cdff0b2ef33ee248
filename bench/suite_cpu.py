"""Where the suite's CPU goes: a table from the lines tests/support/cpu_cost.py writes.

    DEPLOY_TEST_CPU=/tmp/cpu.tsv ./run test      # root: each worker measures its own cgroup
    python bench/suite_cpu.py /tmp/cpu.tsv [--top 30]

Prints the files by CPU seconds (with their share of the whole and their wall seconds), then the
costliest tests. The suite is CPU-bound on 2 cores, so these are the tests worth making cheaper.
"""

from __future__ import annotations

import argparse
from collections import defaultdict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tsv")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    rows = []
    with open(args.tsv) as lines:
        for line in lines:
            cpu, wall, nodeid = line.rstrip("\n").split("\t", 2)
            rows.append((float(cpu), float(wall), nodeid))
    total = sum(cpu for cpu, _, _ in rows) or 1.0
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for cpu, wall, nodeid in rows:
        entry = files[nodeid.split("::")[0]]
        entry[0] += cpu
        entry[1] += wall
        entry[2] += 1
    print(f"{len(rows)} tests, {total:.0f} CPU seconds ({total / 60:.1f} CPU minutes)\n")
    print(f"{'CPU s':>8} {'share':>6} {'wall s':>8} {'tests':>5}  file")
    for name, (cpu, wall, count) in sorted(files.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"{cpu:8.1f} {cpu / total:6.1%} {wall:8.1f} {count:5d}  {name}")
    print(f"\n{'CPU s':>8} {'wall s':>8}  test")
    for cpu, wall, nodeid in sorted(rows, reverse=True)[: args.top]:
        print(f"{cpu:8.1f} {wall:8.1f}  {nodeid}")


if __name__ == "__main__":
    main()

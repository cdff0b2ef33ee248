"""Where one run's CPU goes, by program, when other work shared the machine: the processes of a
BSD process accounting file that descend from one process (e.g. the `timeout` or `./run` of the
run measured), by command name.

    touch /tmp/x.pacct; accton /tmp/x.pacct
    timeout 1500 ./run test ...; accton off
    python bench/process_tree.py /tmp/x.pacct                  # the biggest trees: pick your run
    python bench/process_tree.py /tmp/x.pacct --root PID       # that run's programs

Ancestry is the parent each process had when it exited (acct v3's ac_ppid): a process whose
parent exited first (a daemon's child) is counted only if it was reparented inside the tree.
bench/process_cpu.py gives the whole machine's figures.
"""

from __future__ import annotations

import argparse
import collections
import time

from process_cpu import ACCT_V3, comp_t, print_table


def processes(data: bytes) -> list[dict]:
    found = []
    for offset in range(0, len(data) - ACCT_V3.size + 1, ACCT_V3.size):
        f = ACCT_V3.unpack_from(data, offset)
        found.append({"comm": f[-1].split(b"\0")[0].decode(errors="replace"), "pid": f[6], "ppid": f[7],
                      "start": f[8], "seconds": f[9] / 100, "cpu": (comp_t(f[10]) + comp_t(f[11])) / 100})
    return found


def descendants(procs: list[dict], root: int) -> list[dict]:
    children = collections.defaultdict(list)
    for proc in procs:
        children[proc["ppid"]].append(proc)
    seen, todo, found = set(), [root], []
    while todo:
        for child in children.get(todo.pop(), []):
            key = (child["pid"], child["start"])
            if key not in seen:
                seen.add(key)
                found.append(child)
                todo.append(child["pid"])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--root", type=int, help="the pid whose descendants are counted")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    with open(args.file, "rb") as handle:
        procs = processes(handle.read())
    if args.root is None:   # processes whose parent left no record (started before the file)
        logged = {proc["pid"] for proc in procs}
        roots = [(len(descendants(procs, proc["pid"])), proc) for proc in procs if proc["ppid"] not in logged]
        print("the biggest trees (descendants, root pid, started, seconds, command):")
        for size, proc in sorted(roots, key=lambda r: -r[0])[:10]:
            print(f"  {size:6d}  pid {proc['pid']:>7}  {time.strftime('%H:%M:%S', time.gmtime(proc['start']))}"
                  f"  {proc['seconds']:8.1f} s  {proc['comm']}")
        return 0
    tree = descendants(procs, args.root)
    cpu: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    for proc in tree:
        cpu[proc["comm"]] += proc["cpu"]
        count[proc["comm"]] += 1
    total = sum(cpu.values()) or 1.0
    print(f"{len(tree)} processes under pid {args.root}, {total:.0f} CPU seconds\n")
    print_table(cpu, count, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

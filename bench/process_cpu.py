"""Where a run's CPU goes, by program: a summary of a BSD process accounting file.

    apt-get install acct; touch /tmp/pacct; accton /tmp/pacct   # as root: the kernel logs every exit
    ./run test ...                                                # the run to measure
    accton off; python bench/process_cpu.py /tmp/pacct [--until 'YYYY-MM-DD HH:MM:SS']

Prints CPU seconds (user+sys), share and count per command name (the kernel's 15-character comm;
a trailing * marks a process that forked and did not exec). Every process on the machine is
logged, so measure on an otherwise idle machine; --until keeps processes started before a time
(UTC). Complements tests/support/cpu_cost.py (CPU per test, through cgroups).
"""

from __future__ import annotations

import argparse
import calendar
import collections
import struct
import time

ACCT_V3 = struct.Struct("=BBHIIIIIIfHHHHHHHH16s")   # struct acct_v3, linux/acct.h
AFORK = 0x01


def comp_t(value: int) -> int:
    """The kernel's 13-bit mantissa, 3-bit base-8 exponent."""
    return (value & 0x1FFF) << (3 * ((value >> 13) & 0x7))


def records(data: bytes):
    """(command, started epoch s, CPU s) per process, from acct v3 records (AHZ = 100)."""
    for offset in range(0, len(data) - ACCT_V3.size + 1, ACCT_V3.size):
        fields = ACCT_V3.unpack_from(data, offset)
        if fields[1] & 0x0F != 3:
            raise SystemExit(f"record {offset // ACCT_V3.size}: not an acct v3 record (version {fields[1]})")
        comm = fields[-1].split(b"\0")[0].decode(errors="replace") + ("*" if fields[0] & AFORK else "")
        yield comm, fields[8], (comp_t(fields[10]) + comp_t(fields[11])) / 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--until", help="only processes started before this UTC time, YYYY-MM-DD HH:MM:SS")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    until = calendar.timegm(time.strptime(args.until, "%Y-%m-%d %H:%M:%S")) if args.until else None
    cpu: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    with open(args.file, "rb") as handle:
        for comm, started, seconds in records(handle.read()):
            if until is None or started < until:
                cpu[comm] += seconds
                count[comm] += 1
    total = sum(cpu.values()) or 1.0
    print(f"{sum(count.values())} processes, {total:.0f} CPU seconds ({total / 60:.1f} CPU minutes)\n")
    print_table(cpu, count, args.top)
    return 0


def print_table(cpu: collections.Counter, count: collections.Counter, top: int) -> None:
    """CPU seconds, share, count and seconds each per command, the `top` biggest first."""
    total = sum(cpu.values()) or 1.0
    print(f"{'CPU s':>8} {'share':>6} {'count':>7} {'s each':>7}  command")
    for comm, seconds in cpu.most_common(top):
        print(f"{seconds:8.1f} {100 * seconds / total:5.1f}% {count[comm]:7d} {seconds / count[comm]:7.2f}  {comm}")


if __name__ == "__main__":
    raise SystemExit(main())

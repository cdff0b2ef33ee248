"""Ports for the suite's own listeners: below the kernel's ephemeral range, a slice per xdist worker.

bind(port 0) hands out a port from the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range,
32768-60999 here) - the range every outgoing connection's local port comes from, and the suite
makes thousands of them (ssh, HTTP, PostgreSQL, HAProxy). A port found free that way and bound a
moment later by a process the test starts can meanwhile have become the local end of another
worker's connection: "cannot listen on 127.0.0.1:38659: Address already in use" (test_demo, once
in a full run). The kernel never gives a connection a port below that range, so these come from
there: each pytest-xdist worker has a slice of its own (two workers never pick the same port), and
one process walks its slice in turn (a port it handed out is not handed out again until the
slice wraps round), skipping any that does not bind right now.
"""

from __future__ import annotations

import itertools
import os
import socket

SLICE = 1000          # ports per worker
SLICES = 12           # workers (gw0..gw11; more wrap round onto the first slices)
RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


def ephemeral_low(path: str = RANGE_FILE) -> int:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768      # Linux's default


def worker_slice(worker: str | None, low: int) -> range:
    """The ports of xdist worker `worker` ("gw3"; None or "master" outside xdist: the first slice)."""
    index = int(worker[2:]) if worker and worker.startswith("gw") and worker[2:].isdigit() else 0
    first = low - SLICE * SLICES + SLICE * (index % SLICES)
    if first < 1024:
        raise RuntimeError(f"ip_local_port_range starts at {low}: no room below it for the tests' ports")
    return range(first, first + SLICE)


def _walk():
    ports = worker_slice(os.environ.get("PYTEST_XDIST_WORKER"), ephemeral_low())
    start = os.getpid() % len(ports)          # separate runs at once start at different places
    return itertools.cycle([*ports[start:], *ports[:start]])


_ports = None


def free_port(address: str = "127.0.0.1") -> int:
    """A port on `address` that binds now and that no outgoing connection can be holding."""
    global _ports
    if _ports is None:
        _ports = _walk()
    for _ in range(SLICE):
        port = next(_ports)
        with socket.socket() as probe:
            try:
                probe.bind((address, port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port on {address} in this worker's slice")

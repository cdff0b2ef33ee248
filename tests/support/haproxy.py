"""Debian's HAProxy in front of test hosts, its runtime API on loopback (for the LB tests).

`start(workdir, servers)` writes workdir/haproxy.cfg (frontend `api` -> backend `marketplace-api`
holding the given `server ...` lines), checks it with `haproxy -c`, starts HAProxy in the
foreground (output in workdir/haproxy.log) and returns once its admin port answers.
The caller stops the returned process (by its pid: `stop`).
"""

from __future__ import annotations

import socket
import subprocess
import textwrap
import time
from pathlib import Path

from tests.support import strict
from tests.support.ports import free_port

CONFIG = """\
global
    stats socket ipv4@127.0.0.1:{admin} level admin
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend api
    bind 127.0.0.1:{front}
    default_backend marketplace-api
backend marketplace-api
    balance roundrobin
{servers}
"""


def start(workdir: Path, servers: list[str]) -> tuple[str, str, subprocess.Popen]:
    """-> (frontend URL, admin endpoint 'host:port', the haproxy process)."""
    haproxy = strict.need_binary("haproxy")
    front, admin = free_port(), free_port()
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(CONFIG.format(admin=admin, front=front,
                                 servers=textwrap.indent("\n".join(servers), "    ")))
    check = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with open(workdir / "haproxy.log", "w") as log:
        proc = subprocess.Popen([haproxy, "-f", str(cfg), "-db"], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", admin), timeout=0.5).close()
            return f"http://127.0.0.1:{front}", f"127.0.0.1:{admin}", proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise AssertionError("haproxy did not start: " + (workdir / "haproxy.log").read_text())
            time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

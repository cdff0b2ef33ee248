"""Benchmark: one 4 MB artifact to 1, 4 and 16 sshd hosts at once, each copy verified on its host.

    .venv/bin/python bench/bench_transfer.py [--runs 3] [--size-mb 4] [--hosts 1,4,16]

Needs what the integration tests need (root, sshd, unshare). Starts a fleet of sshd hosts
(tests/support/fleet.py), opens one SSH connection per host and method before the clock starts
(a deploy has its connections open by then: it inspected every host), then times sending the same
incompressible file (random bytes, like a .tar.gz) to every host in parallel (one thread per host,
as Fleet.run does) and `sha256sum` of the copy on the host, compared with the local digest: a
method only counts when every host holds the very bytes. Wall seconds and the client's CPU seconds
(all threads; the sshd side is not counted), median of --runs.

Methods:
- sftp (before):   the product's transfer until now: SFTP open + set_pipelined + 1 MB writes
                   (paramiko splits them into 32 KiB SFTP requests, each acknowledged).
- sftp putfo:      paramiko's own SFTPClient.putfo (the same requests, its own loop).
- exec cat:        one channel per host running `cat > FILE`, the bytes written in 1 MB chunks
                   (paramiko sends them as packets of the server's max, 32 KiB for OpenSSH).
- exec cat gcm:    the same over aes128-gcm@openssh.com (no separate HMAC per packet).
- exec cat zlib:   the same with SSH compression (zlib on already compressed bytes).
- exec cat gcm, 2 processes: the hosts split over two forked processes (each with its own
                   connections and threads), to see whether the GIL bounds the client.
- product put:     deploy.hosts.fleet.SSHHost.put as it stands in this checkout (Fleet connections).
- product reuse:   no transfer: the host's sha256sum of the artifact it holds (what a deploy runs
                   when the host already has the release's sha256; releases.Artifact.held).
A bigger window or packet on our side changes nothing for an upload: the receiver (sshd) sets
both (2 MiB window, 32 KiB packets for a session channel).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paramiko  # noqa: E402

from deploy.config import environment as config  # noqa: E402
from deploy.commands import release as rc  # noqa: E402
from deploy.commands.shell import cmd  # noqa: E402
from deploy.hosts.fleet import Fleet as ProductFleet  # noqa: E402
from tests.support.envs import fleet_environment, make_root  # noqa: E402
from tests.support.fleet import _check_system, _Factory  # noqa: E402

CHUNK = 1 << 20
REMOTE_DIR = "/srv/bench"


def connect(host, fleet, compress: bool = False, gcm: bool = False) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(str(fleet.known_hosts))
    disabled = None
    if gcm:   # everything else paramiko would prefer to GCM
        disabled = {"ciphers": ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc",
                                "aes256-cbc", "3des-cbc"]}
    client.connect(host.address, host.port, username="root", key_filename=str(fleet.client_key),
                   look_for_keys=False, allow_agent=False, compress=compress, disabled_algorithms=disabled)
    return client


def remote_sha(client: paramiko.SSHClient, path: str) -> str:
    _, out, _ = client.exec_command(f"sha256sum {path}")
    return out.read().decode().split()[0]


def sftp_before(client: paramiko.SSHClient, local: Path, remote: str) -> None:
    sftp = client.open_sftp()
    try:
        with sftp.open(remote, "wb") as out, open(local, "rb") as src:
            out.set_pipelined(True)
            shutil.copyfileobj(src, out, CHUNK)
    finally:
        sftp.close()


def sftp_putfo(client: paramiko.SSHClient, local: Path, remote: str) -> None:
    sftp = client.open_sftp()
    try:
        with open(local, "rb") as src:
            sftp.putfo(src, remote)
    finally:
        sftp.close()


def exec_cat(client: paramiko.SSHClient, local: Path, remote: str) -> None:
    channel = client.get_transport().open_session()
    try:
        channel.exec_command(f"cat > {remote}")
        with open(local, "rb") as src:
            for block in iter(lambda: src.read(CHUNK), b""):
                channel.sendall(block)
        channel.shutdown_write()
        if channel.recv_exit_status() != 0:
            raise RuntimeError("cat failed")
    finally:
        channel.close()


def timed(hosts: list, send: Callable, local: Path, digest: str, tag: str) -> tuple[float, float]:
    """Send to every host at once and verify there: (wall s, client CPU s)."""
    def one(host) -> None:
        remote = f"{REMOTE_DIR}/{tag}.bin"
        if send(host, local, remote) is True:
            return                          # the method verified the file on the host itself
        got = host_sha(host, remote)
        if got != digest:
            raise RuntimeError(f"{tag}: sha256 mismatch on a host")

    cpu, wall = time.process_time(), time.monotonic()
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(one, hosts))
    return time.monotonic() - wall, time.process_time() - cpu


def _worker(hosts, fleet, local: Path, digest: str, runs: int, barrier, results) -> None:
    clients = [(connect(h, fleet, gcm=True),) for h in hosts]
    send = lambda host, loc, rem: exec_cat(host[0], loc, rem)   # noqa: E731
    for i in range(runs + 1):
        barrier.wait()
        _, cpu = timed(clients, send, local, digest, f"proc{i}")
        results.put(cpu)
    for (client,) in clients:
        client.close()


def in_processes(test_hosts: list, fleet, local: Path, digest: str, runs: int, procs: int = 2) -> tuple[float, float]:
    """exec cat gcm with the hosts split over `procs` forked processes: (median wall s, median CPU s
    summed over the processes); the first round is a warm-up."""
    ctx = multiprocessing.get_context("fork")
    procs = min(procs, len(test_hosts))
    barrier, results = ctx.Barrier(procs + 1), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(test_hosts[i::procs], fleet, local, digest, runs, barrier, results))
               for i in range(procs)]
    for w in workers:
        w.start()
    cells = []
    for i in range(runs + 1):
        barrier.wait()                       # every worker connected (first round) or done before
        started = time.monotonic()
        cpu = sum(results.get(timeout=300) for _ in range(procs))
        if i:
            cells.append((time.monotonic() - started, cpu))
    for w in workers:
        w.join(timeout=60)
    return statistics.median(c[0] for c in cells), statistics.median(c[1] for c in cells)


def host_sha(host, remote: str) -> str:
    if isinstance(host, tuple):          # (paramiko client, ...) of the bench's own methods
        return remote_sha(host[0], remote)
    return host.run(cmd("sha256sum", remote)).stdout.split()[0]   # a product Host


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed transfers per cell (default 3)")
    parser.add_argument("--size-mb", type=float, default=4, help="artifact size in MB (default 4)")
    parser.add_argument("--hosts", default="1,4,16", help="host counts (default 1,4,16)")
    args = parser.parse_args()
    counts = [int(n) for n in args.hosts.split(",")]
    sshd = _check_system()
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        work = Path(tmp)
        (work / "fleet").mkdir()
        factory = _Factory(work / "fleet", sshd)
        try:
            fleet = factory(max(counts))
            for h in fleet.hosts:
                h.run(f"mkdir -p {REMOTE_DIR}")
            local = work / "artifact.bin"
            local.write_bytes(os.urandom(int(args.size_mb * 1024 * 1024)))
            digest = hashlib.sha256(local.read_bytes()).hexdigest()
            root = make_root(work / "project", "fleet", fleet_environment(fleet))
            env = config.load("fleet", root=root)
            product = ProductFleet(env)
            plain = [(connect(h, fleet),) for h in fleet.hosts]
            gcm = [(connect(h, fleet, gcm=True),) for h in fleet.hosts]
            zlib = [(connect(h, fleet, compress=True),) for h in fleet.hosts]
            for h in product.hosts:
                h.run(cmd("true"))   # connected before the clock, as in a deploy
            ciphers = {h.connection().transport.local_cipher for h in product.hosts}
            print(f"  the product's connections use {', '.join(sorted(ciphers))}", file=sys.stderr)

            def reuse(host, loc, rem) -> bool:
                held = rc.verify_checksum(rem, digest).then(cmd("touch", rem))
                if host.run(held, check=False).ok:
                    return True             # verified on the host: the very check a deploy makes
                host.put(loc, rem)          # the warm-up round: the file is not there yet
                return False

            def bench_method(fn):
                return lambda host, loc, rem: fn(host[0], loc, rem)

            methods = [
                ("sftp (before)", plain, bench_method(sftp_before)),
                ("sftp putfo", plain, bench_method(sftp_putfo)),
                ("exec cat", plain, bench_method(exec_cat)),
                ("exec cat gcm", gcm, bench_method(exec_cat)),
                ("exec cat zlib", zlib, bench_method(exec_cat)),
                ("product put", product.hosts, lambda host, loc, rem: host.put(loc, rem)),
                ("product reuse", product.hosts, reuse),
            ]
            rows = []
            for name, hosts, send in methods:
                cells = []
                for n in counts:
                    timed(hosts[:n], send, local, digest, f"warm{n}")   # warm-up, not counted
                    runs = [timed(hosts[:n], send, local, digest, f"run{n}") for _ in range(args.runs)]
                    cells.append((statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)))
                rows.append((name, cells))
                if name == "exec cat zlib":
                    name = "exec cat gcm, 2 processes"
                    cells = [in_processes(fleet.hosts[:n], fleet, local, digest, args.runs) for n in counts]
                    rows.append((name, cells))
                print(f"  {name}: " + ", ".join(f"{n} hosts {w:.2f}s wall {c:.2f}s cpu"
                                                for n, (w, c) in zip(counts, cells)), file=sys.stderr)
            for group in (plain, gcm, zlib):
                for (client,) in group:
                    client.close()
            product.close()
        finally:
            factory.stop_all()
    load = os.getloadavg()[0]
    print(f"\n{args.size_mb:g} MB of random bytes to N hosts at once, sha256 verified on each host; "
          f"median of {args.runs}; load average {load:.1f} on {os.cpu_count()} cores\n")
    print("| method | " + " | ".join(f"{n} host{'s' if n > 1 else ''}: wall s / cpu s" for n in counts) + " |")
    print("| --- |" + " --- |" * len(counts))
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(f"{w:.2f} / {c:.2f}" for w, c in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

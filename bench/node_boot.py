"""Benchmark: the CPU one boot of the Node API costs (what every pm2 cluster worker pays).

    .venv/bin/python bench/node_boot.py RELEASE [RELEASE ...] [--runs 5] [--database-url URL]

RELEASE is a Node release: a folder (with dist/index.js and node_modules) or a release tarball
(.tar.gz, unpacked into a temp folder), e.g. the artifacts tests/support/node_app.py keeps under
.work/node-app/artifacts/. Each boot is `node dist/index.js` until it logs "listening" (the app
has loaded its modules and Prisma's query compiler, and run its warm-up queries), then SIGTERM;
its CPU is user + system of the child until it exits (wait4), background compiler threads
included. The releases' boots are interleaved round by round (a shared machine's load falls on
all of them alike); the table shows each one's median and its runs.

Without --database-url a throwaway PostgreSQL cluster is started (root + Debian's PostgreSQL,
tests/support/postgres.py); the app only needs to reach it (an empty database answers its
warm-up with "schema-missing", which costs the same compiler load).

Measured on 2026-12-02 (shared 2-core machine, median of 5): the example app with Prisma's
default "fast" query compiler 1.17-1.25 CPU-s per boot under load, 0.85 on a quieter machine;
with compilerBuild = "small" 0.76-0.88 and 0.53 (`bench/node_boot.py` on the artifacts of
f9d9418 and cc5d2cd; examples/marketplace-node/README.md: Boot cost).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def boot_cpu(folder: Path, database_url: str, port: int) -> float:
    env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET="b" * 40, HOST="127.0.0.1",
               PORT=str(port), NODE_ENV="production")
    proc = subprocess.Popen(["node", "dist/index.js"], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    said = []
    for line in proc.stdout:
        said.append(line)
        if '"listening"' in line:
            break
    proc.terminate()
    _, _, usage = os.wait4(proc.pid, 0)
    if not any('"listening"' in line for line in said):
        raise SystemExit(f"{folder}: the app did not listen: {''.join(said)[-500:]}")
    return usage.ru_utime + usage.ru_stime


def release_folder(given: str, scratch: Path) -> Path:
    path = Path(given)
    if path.is_dir():
        return path
    folder = scratch / path.name.removesuffix(".tar.gz")
    folder.mkdir()
    with tarfile.open(path) as tar:
        tar.extractall(folder, filter="data")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="+", help="release folders or .tar.gz artifacts")
    parser.add_argument("--runs", type=int, default=5, help="boots per release (default 5)")
    parser.add_argument("--database-url", help="postgresql:// URL (default: a throwaway cluster)")
    args = parser.parse_args()
    for given in args.releases:
        path = Path(given)
        if not (path / "dist" / "index.js").is_file() and not (path.is_file() and given.endswith(".tar.gz")):
            parser.exit(2, f"error: {given}: neither a release folder (dist/index.js) nor a .tar.gz\n")
    scratch = Path(tempfile.mkdtemp(prefix="node-boot-"))
    cluster = None
    try:
        url = args.database_url
        from tests.support.ports import free_port
        if not url:
            from tests.support.postgres import TempCluster
            cluster = TempCluster().start()
            url = f"postgresql://{cluster.user}:{cluster.password}@127.0.0.1:{cluster.port}/{cluster.dbname}"
        folders = [release_folder(r, scratch) for r in args.releases]
        runs: dict[Path, list[float]] = {f: [] for f in folders}
        for _ in range(args.runs):
            for folder in folders:
                runs[folder].append(boot_cpu(folder, url, free_port()))
        print(f"{'median CPU s':>12}  runs  release")
        for folder, cpus in runs.items():
            print(f"{statistics.median(cpus):12.2f}  {' '.join(f'{c:.2f}' for c in cpus)}  {folder.name}")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

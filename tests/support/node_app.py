"""The Node API (examples/marketplace-node) ready to build: its node_modules installed once with
`npm ci` into .work/node-app/<sha256 of package-lock.json>/ (reused while the lock file is the
same), and per test a source folder holding the app's files and a hard-linked copy of them."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.support import strict

REPO = Path(__file__).resolve().parents[2]
NODE_APP = REPO / "examples" / "marketplace-node"
CACHE = REPO / ".work" / "node-app"
SKIP = {"node_modules", "dist", "generated"}


def need_node() -> tuple[str, str]:
    return strict.need_binary("node"), strict.need_binary("npm")


def build_env() -> dict[str, str]:
    """What `prisma generate` needs offline: a schema engine path (it never runs it) and no
    update check."""
    return {"PRISMA_SCHEMA_ENGINE_BINARY": "/bin/true", "CHECKPOINT_DISABLE": "1",
            "PRISMA_HIDE_UPDATE_MESSAGE": "1"}


def lock_hash() -> str:
    return hashlib.sha256((NODE_APP / "package-lock.json").read_bytes()).hexdigest()[:16]


def installed() -> Path:
    """The cache folder whose node_modules `npm ci` filled (once per lock file)."""
    need_node()
    folder = CACHE / lock_hash()
    done = folder / ".npm-ci-done"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # parallel workers wait for one install
        if not done.exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(NODE_APP / name, folder / name)
            proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=folder,
                                  capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise RuntimeError(f"npm ci failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
            done.touch()
    return folder


def source_copy(name: str) -> Path:
    """A fresh source folder of the app (its files, node_modules hard-linked from the cache),
    beside the cache so the links work; removed and remade when the name is used again."""
    cache = installed()
    dest = CACHE / "sources" / f"{name}-{os.getpid()}"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(NODE_APP, dest, ignore=lambda folder, names: [n for n in names if n in SKIP])
    subprocess.run(["cp", "-al", str(cache / "node_modules"), str(dest / "node_modules")], check=True)
    return dest

"""The Node API (examples/marketplace-node) ready to build: its node_modules installed once with
`npm ci` into .work/node-app/<sha256 of package-lock.json>/ (reused while the lock file is the
same), per test a source folder holding the app's files and a hard-linked copy of them, and its
release artifact built once for every xdist worker and test module (`built_once`), and files made
from it once too (`derived_once`)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

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


def unpacked(tarball: Path, dest: Path) -> Path:
    """A built_once artifact unpacked into dest, as a host unpacks it, but for node_modules: those are
    hard-linked from the lock-keyed cache - the very files the artifact packed (its build ran in a
    source_copy of the same lock file). Writing the 12,000 files of node_modules costs ~11 CPU-s of
    kernel time on this machine's disk (ext4; the hosts' /srv is tmpfs), linking them 0.5."""
    cache = installed()
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(dest), "--anchored", "--exclude=node_modules"],
                   check=True, timeout=300, stdin=subprocess.DEVNULL)
    subprocess.run(["cp", "-al", str(cache / "node_modules"), str(dest / "node_modules")], check=True)
    return dest


def build_key() -> str:
    """What the artifact is made of: the lock file, the app's own files, and the code that packs it."""
    digest = hashlib.sha256(lock_hash().encode())
    files = [path for path in sorted(NODE_APP.rglob("*"))
             if path.is_file() and not SKIP & set(path.relative_to(NODE_APP).parts)]
    for path in [*files, REPO / "deploy" / "releases" / "artifact.py"]:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def built_once(build: Callable[[], Path]) -> Path:
    """The artifact `build()` makes (npm run build: prisma generate + tsc, then the pipeline's packing -
    a minute of CPU), made by the first worker that asks and kept under .work/node-app/artifacts/<key>/
    for every other worker and module: tests deploy it with --artifact, which copies it."""
    folder = CACHE / "artifacts" / build_key()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept = [p for p in folder.glob("*.tar.gz")]
        if kept:
            return kept[0]
        built = build()
        partial = folder / (built.name + ".partial")
        shutil.copyfile(built, partial)
        return partial.rename(folder / built.name)


def derived_once(tarball: Path, name: str, make: Callable[[Path], None]) -> Path:
    """The file `make(dest)` writes from a built_once artifact (a changed copy of it), made by the
    first worker that asks and kept beside the artifact, in derived/<name>: name it after what
    makes it (its code's hash), since the artifact's key does not cover that code."""
    folder = tarball.parent / "derived"
    folder.mkdir(exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept = folder / name
        if kept.exists():
            return kept
        partial = folder / (name + ".partial")
        make(partial)
        return partial.rename(kept)

"""The release artifact: built once, packed as tar.gz with a manifest, checksummed.

Where the release tree comes from, in order:
- `--artifact PATH`: a CI build, either a folder (packed here) or a .tar.gz (used as it is);
- the app's build command (apps.<app>.commands.build), run in its source folder: when the
  command holds `{out}`, that is a fresh folder under work_dir and the tree is what it wrote
  there (the stand-in: `python3 -m marketplace.build --out {out}`); otherwise the build works
  in place (npm run build -> dist/) and the tree is the source folder after it;
- no build command: the source folder as it is.
The release id is the UTC time of the build plus the short git sha when there is one
(20240101120000-abc1234), so ids sort in the order they were made.

Packing is reproducible, so the same tree gives the same sha256 (and a host that holds that
artifact is not sent it again): entries sorted, owners cleared, no time in the gzip header, and
file times clamped to $SOURCE_DATE_EPOCH, else to the source's commit time (the reproducible-builds
convention: a build's fresh files carry the time of the commit they were built from).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tarfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from deploy.config.environment import Environment
from deploy.errors import ConfigError, StepFailed
from deploy.secrets import mask

OUT = "{out}"
# Never part of a release: VCS data, caches, local environments.
EXCLUDED_NAMES = {".git", ".hg", "__pycache__", ".pytest_cache", ".mypy_cache", ".venv", ".env",
                  ".DS_Store"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# node_modules/.cache: the build tools' own caches (babel-loader, eslint, terser, the jiti cache
# `prisma generate` writes while loading prisma.config.ts), never read by the app at run time.
EXCLUDED_UNDER = {"node_modules": ".cache"}
CI_SHA_VARS = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "BUILD_VCS_NUMBER")


@dataclass(frozen=True)
class Manifest:
    release: str
    app: str
    git_sha: str | None
    sha256: str
    size: int
    created_at: str          # ISO 8601, UTC
    source: str              # where the tree came from (a folder, a tarball, a build command)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Artifact:
    path: Path               # the .tar.gz
    manifest: Manifest


def release_id(now: datetime, git_sha: str | None) -> str:
    """UTC timestamp plus the short git sha: 20240101120000-abc1234."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"{stamp}-{git_sha[:7]}" if git_sha else stamp


def git_sha(folder: Path) -> str | None:
    """The commit the folder is at, or None outside a git checkout."""
    try:
        proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and len(sha) >= 7 else None


def ci_sha() -> str | None:
    """The commit a CI job built (for --artifact, whose tree carries no git data)."""
    for var in CI_SHA_VARS:
        value = os.environ.get(var, "").strip()
        if len(value) >= 7 and all(c in "0123456789abcdefABCDEF" for c in value):
            return value.lower()
    return None


def check_given(path: str | None) -> Path | None:
    """Validate --artifact before anything changes: an existing folder or a readable .tar.gz."""
    if path is None:
        return None
    given = Path(os.path.expanduser(path)).resolve()
    if not given.exists():
        raise ConfigError(f"--artifact {path}: no such file or folder")
    if given.is_dir():
        return given
    if not given.name.endswith((".tar.gz", ".tgz")) or not tarfile.is_tarfile(given):
        raise ConfigError(f"--artifact {path}: neither a folder nor a .tar.gz archive")
    try:
        unsafe = contents(given).unsafe
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ConfigError(f"--artifact {path}: cannot read the archive: {exc}") from None
    if unsafe is not None:
        raise ConfigError(f"--artifact {path}: unsafe path in the archive: {unsafe}")
    return given


@dataclass(frozen=True)
class Contents:
    """What a tarball unpacks to: its first unsafe member (an absolute path or one with ..), if
    any, and the bytes of its files."""

    unsafe: str | None
    unpacked: int


# Contents by the tarball's sha256. Reading a tarball means decompressing all of it (a 90 MB
# Node release: ~2 CPU-s), and phase 2 asks twice: --artifact's check, then the hosts' disk room.
# Keyed by content, so an entry cannot go stale; pack() fills it for the tarballs it writes.
_CONTENTS: dict[str, Contents] = {}


def contents(tarball: Path, digest: str | None = None) -> Contents:
    """The tarball's Contents, read in one streaming pass the first time its bytes are seen."""
    digest = digest or sha256_of(tarball)
    known = _CONTENTS.get(digest)
    if known is None:
        unsafe, unpacked = None, 0
        with tarfile.open(tarball, "r|*") as tar:
            for member in tar:
                if unsafe is None and (member.name.startswith("/") or ".." in Path(member.name).parts):
                    unsafe = member.name
                if member.isfile():
                    unpacked += member.size
        known = _CONTENTS[digest] = Contents(unsafe, unpacked)
    return known


def build_line(command: str, out: Path) -> list[str]:
    """The build command as argv, with {out} filled (one argument, whatever the path holds)."""
    return [word.replace(OUT, str(out)) for word in shlex.split(command)]


def run_build(command: str, source: Path, out: Path, timeout: float = 1800) -> str:
    """Run the app's build command in its source folder; the last output line, or StepFailed."""
    argv = build_line(command, out)
    try:
        proc = subprocess.run(argv, cwd=source, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise StepFailed(f"build `{command}`: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise StepFailed(f"build `{command}` did not finish within {timeout:g}s") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise StepFailed(f"build `{command}` exited {proc.returncode}: {mask(tail[-1]) if tail else 'no output'}")
    lines = proc.stdout.strip().splitlines()
    return mask(lines[-1]) if lines else ""


def _keep(info: tarfile.TarInfo, epoch: int | None = None) -> tarfile.TarInfo | None:
    parts = Path(info.name).parts
    name = parts[-1] if parts else ""
    if name in EXCLUDED_NAMES or name.endswith(EXCLUDED_SUFFIXES):
        return None
    if any(EXCLUDED_UNDER.get(parent) == child for parent, child in zip(parts, parts[1:])):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = int(info.mtime) if epoch is None else min(int(info.mtime), epoch)
    return info


def source_epoch(folder: Path | None) -> int | None:
    """$SOURCE_DATE_EPOCH, else the commit time of the folder's checkout when it has no uncommitted
    changes, else None (file times as they are)."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value.isdigit():
        return int(value)
    if folder is None:
        return None
    try:
        proc = subprocess.run(["git", "-C", str(folder), "log", "-1", "--format=%ct"], capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    stamp = proc.stdout.strip()
    if proc.returncode != 0 or not stamp.isdigit():
        return None
    # Uncommitted changes: the files are newer than the commit, and clamping them to its time would
    # give a changed file of the same size its old time (a server's time+size ETag would not change).
    # Such a tree keeps its real file times; reproducible artifacts come from committed trees.
    dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
    return int(stamp) if dirty.returncode == 0 and not dirty.stdout.strip() else None


def pack(tree: Path, dest: Path, epoch: int | None = None) -> str:
    """tree/* -> dest (.tar.gz), without VCS data and caches, owned by nobody in particular;
    the same tree (and epoch) gives the same bytes. Returns its sha256 (its Contents known)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    files: list[int] = []

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        kept = _keep(info, epoch)
        if kept is not None and kept.isfile():
            files.append(kept.size)
        return kept

    with open(partial, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6,
                                                   mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for child in sorted(tree.iterdir()):
            tar.add(child, arcname=child.name, filter=keep)
    partial.replace(dest)
    digest = sha256_of(dest)
    _CONTENTS[digest] = Contents(None, sum(files))
    return digest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifacts_dir(env: Environment, app: str) -> Path:
    return env.path(env.work_dir) / "artifacts" / app


def prepare(env: Environment, app: str, given: Path | None, now: datetime | None = None) -> Artifact:
    """Build (or take) the release tree, pack it, checksum it, write the manifest beside it."""
    now = now or datetime.now(timezone.utc)
    config = env.apps[app]
    source = env.path(config.source)
    sha = ci_sha() if given else git_sha(source)
    release = release_id(now, sha)
    folder = artifacts_dir(env, app)
    tarball = folder / f"{release}.tar.gz"
    staging = folder / f"{release}.build"
    try:
        if given is not None and given.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(given, tarball)
            digest = sha256_of(tarball)
            origin = str(given)
        elif given is not None:
            digest = pack(given, tarball, source_epoch(None))
            origin = str(given)
        elif config.commands.build:
            tree = staging if OUT in config.commands.build else source
            if tree == staging:
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
            run_build(config.commands.build, source, staging)
            digest = pack(tree, tarball, source_epoch(source))
            origin = f"{config.commands.build} (in {config.source})"
        else:
            digest = pack(source, tarball, source_epoch(source))
            origin = config.source
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = Manifest(release=release, app=app, git_sha=sha, sha256=digest,
                        size=tarball.stat().st_size, created_at=now.astimezone(timezone.utc).isoformat(),
                        source=origin)
    (folder / f"{release}.json").write_text(json.dumps(manifest.as_dict(), indent=2) + "\n")
    return Artifact(tarball, manifest)


def planned_release(env: Environment, app: str, given: Path | None, now: datetime | None = None) -> str:
    """The id a run starting now would give its release (for --dry-run, which builds nothing)."""
    now = now or datetime.now(timezone.utc)
    sha = ci_sha() if given else git_sha(env.path(env.apps[app].source))
    return release_id(now, sha)

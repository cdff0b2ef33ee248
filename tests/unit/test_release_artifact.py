"""The artifact: release ids, the manifest, packing (no VCS data or caches), --artifact checks.
Files only under tmp_path; no hosts."""

import io
import json
import os
import subprocess
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deploy.releases import artifact
from deploy.config import environment as config
from deploy.errors import ConfigError

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_release_id_is_utc_time_plus_short_sha():
    assert artifact.release_id(NOW, "0123456789abcdef") == "20240102030405-0123456"
    assert artifact.release_id(NOW, None) == "20240102030405"
    assert artifact.release_id(datetime(2024, 1, 1), None) < artifact.release_id(NOW, None)


def test_build_line_fills_out_as_one_argument(tmp_path):
    out = tmp_path / "my build"
    assert artifact.build_line("python3 -m marketplace.build --out {out}", out) == [
        "python3", "-m", "marketplace.build", "--out", str(out)]


def make_tree(root):
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "app.py").write_text("print('hi')\n")
    (root / "pkg" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / "VERSION").write_text("old\n")
    (root / "node_modules" / ".cache" / "jiti").mkdir(parents=True)
    (root / "node_modules" / ".cache" / "jiti" / "prisma.config.mjs").write_text("cached")
    (root / "node_modules" / "dep").mkdir()
    (root / "node_modules" / "dep" / "index.js").write_text("module.exports = 1")
    (root / "data" / ".cache").mkdir(parents=True)                  # not under node_modules: the app's own
    (root / "data" / ".cache" / "keep.txt").write_text("kept")
    return root


def test_pack_leaves_out_vcs_and_caches(tmp_path):
    tree = make_tree(tmp_path / "tree")
    dest = tmp_path / "out" / "r.tar.gz"
    artifact.pack(tree, dest)
    with tarfile.open(dest) as tar:
        names = sorted(tar.getnames())
        assert all(m.uid == 0 and m.uname == "" for m in tar.getmembers())
    assert names == ["VERSION", "data", "data/.cache", "data/.cache/keep.txt", "node_modules", "node_modules/dep",
                     "node_modules/dep/index.js", "pkg", "pkg/app.py"]


def environment(tmp_path, build=None):
    source = make_tree(tmp_path / "src")
    data = {"name": "t", "root": str(tmp_path), "source_file": "t",
            "hosts": [{"name": "h", "transport": "local", "roles": ["api"]}],
            "database": {"dialect": "sqlite", "path": "db.sqlite"},
            "apps": {"api": {"process": "p", "role": "api", "source": str(source), "start": "true",
                             "port": 3000, "commands": {"build": build} if build else {}}}}
    return config.validate(config.Environment, data, "t")


def test_prepare_builds_into_out_and_writes_the_manifest(tmp_path, monkeypatch):
    monkeypatch.setattr(artifact, "git_sha", lambda folder: "feedfacecafebeef")
    script = "import sys, pathlib; p = pathlib.Path(sys.argv[1]); (p / 'built.txt').write_text('ok')"
    env = environment(tmp_path, build=f"python3 -c \"{script}\" {{out}}")
    built = artifact.prepare(env, "api", None, now=NOW)
    m = built.manifest
    assert m.release == "20240102030405-feedfac" and m.git_sha == "feedfacecafebeef" and m.app == "api"
    assert m.sha256 == artifact.sha256_of(built.path) and m.size == built.path.stat().st_size
    assert built.path == tmp_path / ".work" / "artifacts" / "api" / f"{m.release}.tar.gz"
    assert json.loads((built.path.parent / f"{m.release}.json").read_text())["sha256"] == m.sha256
    with tarfile.open(built.path) as tar:
        assert tar.getnames() == ["built.txt"]
    assert not (built.path.parent / f"{m.release}.build").exists()


def test_a_failing_build_is_a_step_failure(tmp_path):
    from deploy.errors import StepFailed
    env = environment(tmp_path, build="python3 -c \"import sys; print('compile error: x'); sys.exit(3)\"")
    with pytest.raises(StepFailed, match="exited 3: compile error: x"):
        artifact.prepare(env, "api", None, now=NOW)


def test_given_folder_or_tarball(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_SHA", "ABCDEF0123456789")
    env = environment(tmp_path)
    tree = make_tree(tmp_path / "ci")
    built = artifact.prepare(env, "api", artifact.check_given(str(tree)), now=NOW)
    assert built.manifest.release == "20240102030405-abcdef0" and built.manifest.source == str(tree)
    again = artifact.prepare(env, "api", artifact.check_given(str(built.path)), now=NOW.replace(second=9))
    assert again.manifest.sha256 == built.manifest.sha256


def test_bad_artifact_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        artifact.check_given(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="neither a folder nor a .tar.gz"):
        artifact.check_given(str(tmp_path / "notes.txt"))
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ConfigError, match="unsafe path"):
        artifact.check_given(str(evil))


def test_pack_is_reproducible_so_the_same_tree_is_the_same_artifact(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    epoch = 1_700_000_000
    first = make_tree(tmp_path / "one")
    artifact.pack(first, tmp_path / "a.tar.gz", epoch)
    time.sleep(1.1)                                       # a build a second later: fresh file times
    second = make_tree(tmp_path / "two")
    artifact.pack(second, tmp_path / "b.tar.gz", epoch)
    assert artifact.sha256_of(tmp_path / "a.tar.gz") == artifact.sha256_of(tmp_path / "b.tar.gz")
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {epoch}    # clamped to the commit's time
    (second / "pkg" / "app.py").write_text("print('ho')\n")   # same size, other bytes
    artifact.pack(second, tmp_path / "c.tar.gz", epoch)
    assert artifact.sha256_of(tmp_path / "c.tar.gz") != artifact.sha256_of(tmp_path / "a.tar.gz")


def test_source_epoch_prefers_the_environment_then_the_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    assert artifact.source_epoch(tmp_path) == 1234567890
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert artifact.source_epoch(tmp_path) is None            # no checkout: file times as they are
    assert artifact.source_epoch(None) is None
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    (repo / "app.css").write_text("a{}\n")
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True, env={**os.environ, "GIT_COMMITTER_DATE": "@1700000000 +0000"})
    assert artifact.source_epoch(repo) == 1700000000           # a committed tree: the commit's time
    (repo / "app.css").write_text("b{}\n")                     # same size, uncommitted
    assert artifact.source_epoch(repo) is None                 # its real file times, not the commit's


def counting_reads(monkeypatch) -> list[str]:
    """Every streaming read of a tarball (tarfile.open in mode r|...) from now on, by name."""
    reads: list[str] = []
    real = tarfile.open

    def spy(name=None, mode="r", *args, **kw):
        if str(mode).startswith("r|"):
            reads.append(Path(name).name)
        return real(name, mode, *args, **kw)

    monkeypatch.setattr(tarfile, "open", spy)
    monkeypatch.setattr(artifact, "_CONTENTS", {})
    return reads


def test_a_given_tarball_is_read_once_for_its_check_its_copy_and_the_hosts_disk_room(tmp_path, monkeypatch):
    from deploy.releases import disk_room
    given = tmp_path / "ci.tar.gz"
    with tarfile.open(given, "w:gz") as tar:
        for name, size in (("dist/index.js", 3000), ("node_modules/x/a.js", 7000)):
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"\0" * size))
    reads = counting_reads(monkeypatch)
    built = artifact.prepare(environment(tmp_path), "api", artifact.check_given(str(given)), now=NOW)
    assert built.path != given and built.manifest.sha256 == artifact.sha256_of(given)
    assert disk_room.needed_bytes(built.path) == built.path.stat().st_size + 10000
    assert reads == ["ci.tar.gz"]                     # the copy has the same bytes: not read again


def test_pack_knows_what_its_tarball_unpacks_to_without_reading_it(tmp_path, monkeypatch):
    tree = make_tree(tmp_path / "tree")
    (tree / "pkg" / "data.bin").write_bytes(b"\1" * 5000)
    reads = counting_reads(monkeypatch)
    digest = artifact.pack(tree, tmp_path / "r.tar.gz")
    assert digest == artifact.sha256_of(tmp_path / "r.tar.gz")
    packed = artifact.contents(tmp_path / "r.tar.gz")
    assert reads == []
    monkeypatch.setattr(artifact, "_CONTENTS", {})
    assert artifact.contents(tmp_path / "r.tar.gz") == packed == artifact.Contents(None, 5000 + 12 + 4 + 4 + 18)
    assert reads == ["r.tar.gz"]

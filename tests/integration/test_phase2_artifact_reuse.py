"""Phase 2 on three real sshd hosts, run twice from the same source: the build is reproducible (the
same sha256), a host that holds that artifact (its own sha256sum says so) is not sent it again, a
host whose file of that name was damaged gets a fresh, verified upload. --json and the journal say
per host which it was."""

from __future__ import annotations

import json

from tests.integration.test_phase2_support import APP_DIR, journal_events, make_project


def stat_of(host, path: str) -> str:
    """inode: a reuse keeps the file, an upload renames a new one over it."""
    return host.run(f"stat -c %i {path}").stdout.strip()


def sha_on(host, path: str) -> str:
    return host.run(f"sha256sum {path}").stdout.split()[0]


def test_the_same_artifact_again_is_reused_where_verified_and_sent_where_damaged(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    # the reproducible-builds convention: file times clamped to this epoch (by default the commit's
    # time, but only for a tree without uncommitted changes - a developer's may have some)
    project.extra_env["SOURCE_DATE_EPOCH"] = "1700000000"
    one, damaged, three = fleet3.hosts
    first, doc1 = project.deploy()           # built from the stand-in's source
    assert first.returncode == 0, first.stderr
    sha = doc1["manifest"]["sha256"]
    cached = f"{APP_DIR}/artifacts/{sha}.tar.gz"
    assert [h["artifact"] for h in doc1["hosts"]] == ["uploaded"] * 3
    assert [sha_on(h, cached) for h in fleet3.hosts] == [sha] * 3
    inodes = [stat_of(h, cached) for h in fleet3.hosts]

    # a file of the right name with other bytes (a disk fault, a hand edit) must not pass for it
    damaged.run(f"printf 'not the artifact' > {cached}")
    second, doc2 = project.deploy()          # built again: file times clamped to the same epoch
    assert second.returncode == 0, second.stderr
    v1, v2 = doc1["release"], doc2["release"]
    assert v2 > v1 and doc2["manifest"]["sha256"] == sha
    assert {h["host"]: h["artifact"] for h in doc2["hosts"]} == {
        one.name: "reused", damaged.name: "uploaded", three.name: "reused"}
    assert stat_of(one, cached) == inodes[0] and stat_of(three, cached) == inodes[2]
    assert stat_of(damaged, cached) != inodes[1] and sha_on(damaged, cached) == sha
    assert project.versions() == [v2] * 3                 # unpacked from the verified file, and serving
    for host in fleet3.hosts:
        assert host.run(f"ls -A {APP_DIR}/artifacts").stdout.split() == [f"{sha}.tar.gz"]  # no partial left
        assert project.releases_on(host) == [v1, v2]

    uploads = [(host, json.loads(details)) for action, host, outcome, details in journal_events(project, "phase2")
               if action == "upload" and outcome == "ok"]
    assert len(uploads) == 6
    assert [notes["artifact"] for _, notes in uploads[:3]] == ["uploaded"] * 3
    assert {host: notes["artifact"] for host, notes in uploads[3:]} == {
        one.name: "reused", damaged.name: "uploaded", three.name: "reused"}

"""Phase 2 on three real sshd hosts with a real supervisord or pm2 on each: the stand-in API is
built, uploaded, switched, restarted and health-gated, rolled back with rollback.backend, and
listed with deploy.releases. The env file holds the secret (0600); no output does."""

from __future__ import annotations

import json
import stat

import pytest

from tests.integration.test_phase2_support import (APP_DIR, TEST_JWT_SECRET, journal_events,
                                                   make_project)


@pytest.mark.parametrize("manager", ["supervisor", "pm2"])
def test_deploy_three_hosts_then_roll_back(tmp_path, fleet3, manager):
    project = make_project(tmp_path, fleet3, manager)
    hosts = fleet3.hosts

    report = tmp_path / "gates.xml"
    first, doc1 = project.deploy("--junit", str(report))
    assert first.returncode == 0, first.stderr
    import xml.etree.ElementTree as ET
    cases = list(ET.parse(report).getroot().iter("testcase"))
    assert len(cases) == 12                               # 3 health gates + 3 smoke checks x 3 hosts
    assert not [c for c in cases if c.find("failure") is not None or c.find("skipped") is not None]
    v1 = doc1["release"]
    assert doc1["ok"] and doc1["manifest"]["sha256"] and len(doc1["manifest"]["sha256"]) == 64
    assert [project.current(h) for h in hosts] == [v1] * 3
    assert project.versions() == [v1] * 3
    assert {s["name"]: s["ok"] for s in doc1["smoke"]} == {
        "health": True, "ratings need a token": True, "can-rate with a token": True}
    assert len(doc1["smoke"]) == 9  # three checks on each of three hosts

    # the second release comes from a CI build (--artifact): uploaded once per host, verified
    tree = project.build_tree(tmp_path, "ci-build")
    second, doc2 = project.deploy("--artifact", str(tree))
    assert second.returncode == 0, second.stderr
    v2 = doc2["release"]
    assert v2 > v1
    assert project.versions() == [v2] * 3
    assert [h["before"] for h in doc2["hosts"]] == [v1] * 3
    for host in hosts:
        assert host.run(f"readlink {APP_DIR}/previous").stdout.strip() == f"{APP_DIR}/releases/{v1}"
        assert host.run(f"cat {APP_DIR}/current/VERSION").stdout.strip() == v2
        assert host.run(f"ls {APP_DIR}/releases").stdout.split() == [v1, v2]  # no tarball left

    listing = project.invoke("deploy.releases", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = {h["host"]: h for h in json.loads(listing.stdout)["hosts"]}
    assert rows[hosts[0].name]["current"] == v2 and rows[hosts[0].name]["previous"] == v1
    assert [r["id"] for r in rows[hosts[2].name]["releases"]] == [v1, v2]

    back = project.invoke("rollback.backend", "--json")
    assert back.returncode == 0, back.stderr
    assert project.versions() == [v1] * 3
    assert [project.current(h) for h in hosts] == [v1] * 3
    assert {h["now"] for h in json.loads(back.stdout)["hosts"]} == {v1}

    # --to goes forward again; an unknown id is refused before anything changes
    unknown = project.invoke("rollback.backend", "--to", "20000101000000-nothere")
    assert unknown.returncode == 2 and "has no release '20000101000000-nothere'" in unknown.stderr
    again = project.invoke("rollback.backend", "--to", v2)
    assert again.returncode == 0, again.stderr
    assert project.versions() == [v2] * 3

    # the secret: in the env file (0600, root) on every host, in no output
    for host in hosts:
        mode = int(host.run(f"stat -c %a {APP_DIR}/shared/api.env").stdout.strip(), 8)
        assert stat.S_IMODE(mode) == 0o600
        assert f"JWT_SECRET={TEST_JWT_SECRET}" in host.run(f"cat {APP_DIR}/shared/api.env").stdout
    for proc in (first, second, listing, back, unknown, again):
        assert TEST_JWT_SECRET not in proc.stdout + proc.stderr

    finishes = [e for e in journal_events(project, "phase2") if e[0] == "finish"]
    assert [e[2] for e in finishes] == ["ok", "ok"]
    assert [e[2] for e in journal_events(project, "rollback-backend") if e[0] == "finish"] == ["ok", "ok"]


def test_dry_run_prints_the_plan_masked_and_changes_nothing(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    proc = project.invoke("deploy.phase2", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dry run, nothing changes" in out
    assert ", none after a failed one; process manager supervisor" in out   # batches.max_fail does not apply
    for host in fleet3.hosts:
        assert f"{host.name} ({host.address}): now nothing" in out
    assert "JWT_SECRET=***" in out and TEST_JWT_SECRET not in out + proc.stderr
    assert "sha256sum -c --quiet -" in out and "-c <supervisor_rpc.py> restart marketplace-api " \
        "/srv/marketplace/supervisor/supervisord.conf " in out
    assert "smoke   GET http://" in out and "/api/v1/ratings/can-rate/1 with a bearer token -> 200" in out
    for host in fleet3.hosts:
        assert host.run(f"test -e {APP_DIR}", check=False).returncode != 0
    assert journal_events(project, "phase2") == []   # not even the lock was taken


def test_bad_input_exits_2_before_anything_changes(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    missing = project.invoke("deploy.phase2", "--artifact", str(tmp_path / "no-such-build"))
    assert missing.returncode == 2
    assert "--artifact" in missing.stderr and "no such file or folder" in missing.stderr
    nothing = project.invoke("rollback.backend")
    assert nothing.returncode == 2 and "no previous release" in nothing.stderr
    for host in fleet3.hosts:
        assert host.run(f"test -e {APP_DIR}/current", check=False).returncode != 0

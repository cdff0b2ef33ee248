"""A full disk on one host (its /srv, a tmpfs, shrunk to less than a release needs): preflight warns
beforehand, the upload refuses on that host naming it and its free space, nothing is left there,
no host is switched, exit 1 - and once there is room, a plain re-run goes through (issue 14)."""

from __future__ import annotations

import json

from tests.integration.test_faults_support import app_pids
from tests.integration.test_phase2_support import APP_DIR, journal_events, make_project

SHARED = "/srv/marketplace/api/shared"


def free_kib(host) -> int:
    return int(host.run("df -Pk /srv").stdout.splitlines()[-1].split()[3])


def shrink_srv(host, free_bytes: int) -> None:
    """Make the host's /srv tmpfs hold only what it holds now plus about free_bytes."""
    used_kib = int(host.run("df -Pk /srv").stdout.splitlines()[-1].split()[2])
    host.run(f"mount -o remount,size={used_kib + free_bytes // 1024}k /srv")


def test_a_full_disk_on_one_host_stops_the_upload_there_and_switches_no_host(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    first, doc = project.deploy()
    assert first.returncode == 0, first.stderr
    v1, size = doc["release"], doc["manifest"]["size"]
    full = fleet3.host("host2")
    shrink_srv(full, size)                       # room for the tarball, not for it and its tree
    free = free_kib(full) * 1024
    assert free < 2 * size, (free, size)

    # preflight warns first, and a warning does not fail the checklist (the free-disk minimum is
    # set aside: this /srv is tiny on purpose; so is clock skew: a busy machine answers late)
    preflight = project.root / "checks" / "preflight.yaml"
    preflight.write_text(preflight.read_text().replace("min_free_disk_mb: 1024", "min_free_disk_mb: 0")
                         .replace("max_clock_skew: 5s", "max_clock_skew: 1h"))
    check = project.invoke("checks.preflight", "--only", "hosts", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    room = {i["name"]: (i["status"], i["detail"]) for i in json.loads(check.stdout)["items"]
            if i["name"].endswith(": room for api")}
    assert {name: status for name, (status, _) in room.items()} == \
        {"host1: room for api": "pass", "host2: room for api": "warn", "host3: room for api": "pass"}
    assert f"the last api artifact ({v1})" in room["host2: room for api"][1]

    pids_before = {h.name: app_pids(h) for h in fleet3.hosts}
    assert all(pids_before.values()), pids_before
    events_before = len(journal_events(project, "phase2"))
    proc, doc = project.deploy()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v2 = doc["release"]
    assert v2 != v1
    assert "upload failed on host2: host2: not enough disk space for release" in doc["error"], doc["error"]
    assert f"free on /srv, the release needs" in doc["error"]
    shown_free = doc["error"].split("release " + v2 + ": ", 1)[1].split(" free on")[0]
    assert shown_free.endswith("KiB") and abs(float(shown_free.split()[0]) * 1024 - free) <= 1024, shown_free
    assert "host2" in proc.stderr and "not enough disk space" in proc.stderr   # the operator's line

    # nothing of v2 anywhere on host2; every host still on v1, its process untouched
    assert project.releases_on(full) == [v1]
    assert full.run(f"ls -A {APP_DIR}/releases {SHARED}").stdout.count(v2) == 0
    assert [project.current(h) for h in fleet3.hosts] == [v1] * 3
    assert project.versions() == [v1] * 3
    assert {h.name: app_pids(h) for h in fleet3.hosts} == pids_before
    run_events = journal_events(project, "phase2")[events_before:]
    assert not [e for e in run_events if e[0] in ("switch", "restart", "drain")], run_events
    # the hosts that had room got v2 uploaded, then removed again by the undo
    assert [project.releases_on(h) for h in fleet3.hosts] == [[v1]] * 3
    assert {r["host"]: r["note"] for r in doc["hosts"]} == {h.name: "untouched" for h in fleet3.hosts}

    full.run("mount -o remount,size=256m /srv")
    again, doc = project.deploy()
    assert again.returncode == 0, again.stderr
    assert project.versions() == [doc["release"]] * 3

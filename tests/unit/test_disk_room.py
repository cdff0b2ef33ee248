"""Room for a release on a host: the df command, its parser, the refusal and preflight's rule."""

from __future__ import annotations

import io
import json
import tarfile

from deploy.releases import disk_room as dr
from deploy.hosts.facts import parse_facts

DF = """Filesystem     1024-blocks  Used Available Capacity Mounted on
fleet-srv             2048  1948       100      96% /srv
"""


def test_df_command_measures_the_nearest_existing_parent():
    assert dr.df_command("/srv/my app/releases").render() == (
        "sh -c 'd='\"'\"'/srv/my app/releases'\"'\"'; while [ ! -d \"$d\" ]; do d=$(dirname \"$d\"); "
        "done; df -Pk \"$d\"'")


def test_parse_room_reads_mount_and_free_bytes():
    assert dr.parse_room(DF) == dr.Room("/srv", 100 * 1024)


def test_a_release_that_does_not_fit_is_refused_naming_host_and_free_space():
    room = dr.Room("/srv", 100 * 1024)
    assert dr.shortage("web-2", room, 100 * 1024, "r1") is None          # exactly fits
    msg = dr.shortage("web-2", room, 300 * 1024, "r1")
    assert msg == ("web-2: not enough disk space for release r1: 100.0 KiB free on /srv, the release "
                   "needs 300.0 KiB (artifact and unpacked tree) - nothing uploaded")


def test_needed_bytes_is_the_tarball_plus_what_it_unpacks_to(tmp_path):
    tarball = tmp_path / "r.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, size in (("a.py", 5000), ("dir/b.bin", 20000)):
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"\0" * size))
    assert dr.needed_bytes(tarball) == tarball.stat().st_size + 25000


def test_human_sizes():
    assert [dr.human(n) for n in (512, 2048, 5 * 1024 ** 2, 3 * 1024 ** 3)] == \
        ["512 B", "2.0 KiB", "5.0 MiB", "3.0 GiB"]


def test_preflight_warns_below_twice_the_last_artifact(tmp_path):
    assert dr.last_artifact_size(tmp_path) is None
    assert dr.preflight_item("h1", "api", 10, "/srv", None)[1:] == \
        ("skip", "no api artifact built yet (its size is not known)")
    for release, size in (("20240101000000", 999), ("20240102000000", 50 * 1024)):
        (tmp_path / f"{release}.json").write_text(json.dumps({"release": release, "size": size}))
    last = dr.last_artifact_size(tmp_path)
    assert last == ("20240102000000", 50 * 1024)                      # the newest
    assert dr.preflight_item("h1", "api", 100 * 1024, "/srv", last) == (
        "h1: room for api", "pass",
        "100.0 KiB free on /srv; the last api artifact (20240102000000) is 50.0 KiB, 2 x that is 100.0 KiB")
    assert dr.preflight_item("h1", "api", 100 * 1024 - 1, "/srv", last)[1] == "warn"


def test_host_facts_carry_free_disk_to_the_kib():
    sep = "@@deploy-facts@@"
    facts = parse_facts(f"2\n{sep}\nMemTotal: 2048 kB\n{sep}\n{DF}{sep}\n1.5\n{sep}\n/usr/bin/pm2\n", ["pm2"])
    assert (facts.disk_free_mb, facts.disk_free_bytes) == (0, 100 * 1024)

"""The release-tree builders (exact command strings), the host inspection parser, keep-N."""

import pytest

from deploy.commands import release as rc
from deploy.commands.release import AppLayout, HostReleases

L = AppLayout("/srv/marketplace", "api")
R1, R2, R3 = "20240101120000-abc1234", "20240102120000-def5678", "20240103120000-0a1b2c3"


def test_layout_paths():
    assert L.app_dir == "/srv/marketplace/api"
    assert L.release_dir(R1) == f"/srv/marketplace/api/releases/{R1}"
    assert L.tarball(R1) == f"/srv/marketplace/api/releases/{R1}.tar.gz"
    assert L.env_file == "/srv/marketplace/api/shared/api.env"
    assert L.staged_env(R1) == f"/srv/marketplace/api/shared/.api.env.{R1}"
    assert L.log_dir == "/srv/marketplace/api/shared/logs"


def test_prepare_creates_dirs_once_and_refuses_an_existing_release():
    assert rc.prepare(L, R1, ["/srv/marketplace/supervisor/programs", L.log_dir]).render() == (
        "mkdir -p /srv/marketplace/api/releases /srv/marketplace/api/shared/logs "
        "/srv/marketplace/supervisor/programs && "
        f"test '!' -e /srv/marketplace/api/releases/{R1}")


def test_verify_checksum_is_sha256sum_check():
    sha = "ab" * 32
    assert rc.verify_checksum(L.artifact(sha), sha).render() == (
        f"printf '%s\\n' '{sha}  /srv/marketplace/api/artifacts/{sha}.tar.gz' | sha256sum -c --quiet -")


def test_an_artifact_is_held_only_when_the_hosts_own_sha256_says_so():
    sha = "ab" * 32
    assert L.artifacts_dir == "/srv/marketplace/api/artifacts"
    assert L.partial(R1) == f"/srv/marketplace/api/artifacts/.{R1}.partial"
    assert rc.holds_artifact(L, sha).render() == (
        f"printf '%s\\n' '{sha}  /srv/marketplace/api/artifacts/{sha}.tar.gz' | sha256sum -c --quiet - "
        f"2>/dev/null && touch /srv/marketplace/api/artifacts/{sha}.tar.gz")
    # an upload is checked on the host before it takes the sha's name (over a damaged file)
    assert rc.keep_artifact(L, R1, sha).render() == (
        f"printf '%s\\n' '{sha}  /srv/marketplace/api/artifacts/.{R1}.partial' | sha256sum -c --quiet - && "
        f"mv -f /srv/marketplace/api/artifacts/.{R1}.partial /srv/marketplace/api/artifacts/{sha}.tar.gz")


def test_unpack_writes_version_and_revision_and_keeps_the_artifact():
    sha = "ab" * 32
    assert rc.unpack(L, R1, sha, "deadbeefcafe").render() == (
        f"mkdir /srv/marketplace/api/releases/{R1} && "
        f"tar -xzf /srv/marketplace/api/artifacts/{sha}.tar.gz -C /srv/marketplace/api/releases/{R1} --no-same-owner && "
        f"printf '%s\\n' {R1} > /srv/marketplace/api/releases/{R1}/VERSION && "
        f"printf '%s\\n' deadbeefcafe > /srv/marketplace/api/releases/{R1}/REVISION")
    assert "REVISION" not in rc.unpack(L, R1, sha, None).render()


def test_switch_is_a_new_link_renamed_over_the_old():
    assert rc.switch(L, R2, R1).render() == (
        f"ln -sfn /srv/marketplace/api/releases/{R1} /srv/marketplace/api/.previous.tmp && "
        "mv -T -f /srv/marketplace/api/.previous.tmp /srv/marketplace/api/previous && "
        f"ln -sfn /srv/marketplace/api/releases/{R2} /srv/marketplace/api/.current.tmp && "
        "mv -T -f /srv/marketplace/api/.current.tmp /srv/marketplace/api/current")
    assert rc.switch(L, R1, None).render().startswith("rm -f /srv/marketplace/api/previous && ln -sfn ")


def test_env_file_install_keeps_the_previous_and_restore_puts_it_back():
    assert rc.install_env(L, R1).render() == (
        "test '!' -e /srv/marketplace/api/shared/api.env || "
        "cp -p /srv/marketplace/api/shared/api.env /srv/marketplace/api/shared/api.env.previous && "
        f"mv -f /srv/marketplace/api/shared/.api.env.{R1} /srv/marketplace/api/shared/api.env")
    assert rc.restore_env(L).render() == (
        "test '!' -e /srv/marketplace/api/shared/api.env.previous || "
        "mv -f /srv/marketplace/api/shared/api.env.previous /srv/marketplace/api/shared/api.env")


def test_paths_with_spaces_are_quoted():
    odd = AppLayout("/srv/my apps", "api")
    assert rc.point(odd, "current", R1).render() == (
        f"ln -sfn '/srv/my apps/api/releases/{R1}' '/srv/my apps/api/.current.tmp' && "
        "mv -T -f '/srv/my apps/api/.current.tmp' '/srv/my apps/api/current'")


def test_inspect_command_and_parser():
    text = rc.inspect(L).render()
    assert text.startswith("sh -c 'cd /srv/marketplace/api 2>/dev/null || exit 0 ; ls -1p releases")
    out = (f"{R2}/\n{R1}/\n{R3}.tar.gz\nnot a release/\n#current\n/srv/marketplace/api/releases/{R2}\n"
           f"#previous\n/srv/marketplace/api/releases/{R1}\n")
    assert rc.parse_inspect(out) == HostReleases((R1, R2), R2, R1)
    assert rc.parse_inspect("") == HostReleases()
    assert rc.parse_inspect("#current\n#previous\n") == HostReleases()


def test_remove_and_prune():
    assert rc.remove_release(L, R1).render() == (
        f"rm -rf /srv/marketplace/api/releases/{R1} /srv/marketplace/api/releases/{R1}.tar.gz "
        f"/srv/marketplace/api/artifacts/.{R1}.partial /srv/marketplace/api/shared/.api.env.{R1}")
    assert rc.prune_artifacts(L, 3).render() == (
        "sh -c 'cd /srv/marketplace/api/artifacts 2>/dev/null || exit 0 ; ls -1t | tail -n +4 | xargs -r rm -f --'")
    assert rc.prune(L, [R1, R2]).render() == (
        f"rm -rf /srv/marketplace/api/releases/{R1} /srv/marketplace/api/releases/{R2}")


@pytest.mark.parametrize("releases, keep, current, previous, doomed", [
    (["a", "b", "c", "d", "e"], 3, "e", "d", ["a", "b"]),
    (["a", "b", "c", "d", "e"], 2, "e", "a", ["b", "c"]),         # previous is old: kept anyway
    (["a", "b", "c", "d", "e"], 2, "b", "a", ["c"]),              # rolled back: current is old
    (["a", "b"], 5, "b", "a", []),
    (["c", "a", "b"], 2, "c", None, ["a"]),                       # order does not matter
])
def test_prunable_keeps_newest_n_and_never_current_or_previous(releases, keep, current, previous, doomed):
    assert rc.prunable(releases, keep, current, previous) == doomed


def test_older_than_and_release_of():
    h = HostReleases((R1, R2, R3), R3, R2)
    assert h.older_than(R3) == R2 and h.older_than(R2) == R1 and h.older_than(R1) is None
    assert rc.release_of(f"/srv/marketplace/api/releases/{R1}/\n") == R1


@pytest.mark.parametrize("value, ok", [(R1, True), ("v1.2.3", True), ("../etc", False), ("a/b", False),
                                       (".hidden", False), ("", False), ("x y", False)])
def test_valid_release_id(value, ok):
    assert rc.valid_release_id(value) is ok

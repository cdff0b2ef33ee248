"""The upload in three round trips per host: prepare + `held?`, then every file and command of
the upload in one shell command fed on stdin (releases.send). Run for real through sh on this
machine (LocalHost.feed runs the very command an SSH host gets), into a temporary tree."""

import hashlib
import stat
import tarfile
from pathlib import Path

import pytest

from deploy.commands import release as rc
from deploy.config.environment import HostConfig
from deploy.errors import StepFailed
from deploy.hosts.fleet import LocalHost
from deploy.releases.steps import REUSED, UPLOADED, Artifact, Exec, Upload, batch, prepare_and_check, send

SECRET = "s3cret-" + "x" * 30


class Counting(LocalHost):
    """This machine as a host, counting round trips (each run or feed is one)."""

    def __init__(self):
        super().__init__(HostConfig(name="h1", transport="local"), 30)
        self.trips: list[str] = []

    def run(self, command, timeout=None, check=True, env=None):
        self.trips.append("run")
        return super().run(command, timeout, check, env)

    def feed(self, command, sources, timeout=None):
        self.trips.append("feed")
        return super().feed(command, sources, timeout)

    def put(self, local, remote, mode=None):
        raise AssertionError("no separate put")


def artifact(tmp_path: Path, name: str = "a.tar.gz") -> tuple[Path, str]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "app.py").write_text("print('hi')\n")
    tarball = tmp_path / name
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(src / "app.py", "app.py")
    return tarball, hashlib.sha256(tarball.read_bytes()).hexdigest()


def steps_for(layout: rc.AppLayout, release: str, tarball: Path, sha: str, conf: str) -> list:
    return [Exec(rc.prepare(layout, release, [layout.artifacts_dir]), "prepare"),
            Artifact(layout.artifact(sha), layout.partial(release), tarball, rc.holds_artifact(layout, sha),
                     rc.keep_artifact(layout, release, sha)),
            Exec(rc.unpack(layout, release, sha), "unpack"),
            Upload(layout.staged_env(release), "env file", mode=0o600, text=f"JWT_SECRET={SECRET}\n"),
            Upload(conf, "program", mode=0o644, text="[program:api]\ncommand=x\n")]


def test_three_round_trips_upload_then_reuse(tmp_path):
    host, layout = Counting(), rc.AppLayout(str(tmp_path / "srv"), "api")
    tarball, sha = artifact(tmp_path)
    conf = str(tmp_path / "srv" / "supervisor" / "programs" / "api.conf")
    prepare, art, *rest = steps_for(layout, "r1", tarball, sha, conf)

    held = prepare_and_check(host, prepare, art)
    assert held is False
    assert send(host, [art, *rest], held) == UPLOADED
    assert host.trips == ["run", "feed"]
    assert Path(layout.artifact(sha)).read_bytes() == tarball.read_bytes()
    assert not Path(layout.partial("r1")).exists()
    assert (Path(layout.release_dir("r1")) / "app.py").read_text() == "print('hi')\n"
    env = Path(layout.staged_env("r1"))
    assert env.read_text() == f"JWT_SECRET={SECRET}\n" and stat.S_IMODE(env.stat().st_mode) == 0o600
    assert Path(conf).read_text() == "[program:api]\ncommand=x\n" and stat.S_IMODE(Path(conf).stat().st_mode) == 0o644

    # the next release of the same build: the host's own sha256sum says it holds it, nothing is sent
    prepare, art, *rest = steps_for(layout, "r2", tarball, sha, conf)
    assert prepare_and_check(host, prepare, art) is True
    script, sources, _ = batch([art, *rest], held=True)
    assert tarball not in sources and len(sources) == 2          # env file and program file only
    assert send(host, [art, *rest], True) == REUSED
    assert (Path(layout.release_dir("r2")) / "app.py").exists()


def test_the_command_line_holds_no_secret_and_names_each_step(tmp_path):
    layout = rc.AppLayout("/srv/m", "api")
    tarball, sha = artifact(tmp_path)
    _, art, *rest = steps_for(layout, "r1", tarball, sha, "/srv/m/supervisor/programs/api.conf")
    script, sources, shown = batch([art, *rest], held=False)
    assert SECRET not in script.render() and SECRET.encode() in sources[1]
    assert sources[0] == tarball
    assert shown[0].startswith("upload to /srv/m/api/artifacts/.r1.partial && printf")
    assert shown[2:] == ["upload to /srv/m/api/shared/.api.env.r1", "upload to /srv/m/supervisor/programs/api.conf"]
    assert "umask 077 && touch /srv/m/api/shared/.api.env.r1 && chmod 0600" in script.render()


def test_a_damaged_upload_fails_naming_its_step_and_stops_there(tmp_path):
    host, layout = Counting(), rc.AppLayout(str(tmp_path / "srv"), "api")
    tarball, sha = artifact(tmp_path)
    damaged, _ = artifact(tmp_path, "b.tar.gz")
    damaged.write_bytes(damaged.read_bytes() + b"x")               # other bytes than the sha256 says
    conf = str(tmp_path / "conf" / "api.conf")
    prepare, art, *rest = steps_for(layout, "r1", damaged, sha, conf)
    assert prepare_and_check(host, prepare, art) is False

    with pytest.raises(StepFailed) as failed:
        send(host, [art, *rest], False)

    assert "upload to " + layout.partial("r1") in str(failed.value)
    assert "did NOT match" in str(failed.value)
    assert not Path(layout.artifact(sha)).exists() and not Path(conf).exists()   # nothing after it ran


def test_a_short_stream_is_not_taken_for_a_whole_file(tmp_path):
    host = Counting()
    target = tmp_path / "x.conf"
    res = host.feed(rc.write_stdin(str(target), 10), [b"12345"])      # 5 bytes where 10 are due
    assert res.exit_code != 0


def test_prepare_refuses_a_release_the_host_has(tmp_path):
    host, layout = Counting(), rc.AppLayout(str(tmp_path / "srv"), "api")
    tarball, sha = artifact(tmp_path)
    Path(layout.release_dir("r1")).mkdir(parents=True)
    prepare, art, *_ = steps_for(layout, "r1", tarball, sha, str(tmp_path / "c"))
    with pytest.raises(StepFailed):
        prepare_and_check(host, prepare, art)

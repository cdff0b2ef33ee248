"""The step lists phase 2 applies (and --dry-run prints): upload, switch, restart, revert; the env
file rendered with secrets only in the copy for the host."""

from pathlib import Path

from deploy.config import environment as config
from deploy.commands.release import HostReleases
from deploy.hosts.fleet import Result, put_command
from deploy.releases.steps import (REUSED, UPLOADED, Artifact, Exec, Upload, apply, env_values, health_url, layout_for, manager_for,
                             program_for, render_env, restart_steps, revert_steps, switch_steps,
                             upload_steps)
from deploy.secrets import Secret

SECRET = "jwt-secret-" + "q" * 40
R1, R2 = "20240101120000-abc1234", "20240102120000-def5678"


def environment(tmp_path, manager="supervisor", **extra):
    (tmp_path / "app").mkdir(exist_ok=True)
    data = {
        "name": "t", "root": str(tmp_path), "source_file": "environments/t.yaml",
        "hosts": [{"name": "api-1", "address": "10.0.0.5", "transport": "ssh", "roles": ["api"]}],
        "database": {"dialect": "sqlite", "path": "db.sqlite"},
        "process": {"manager": manager},
        "env": {"JWT_SECRET": Secret(SECRET, "env.JWT_SECRET"), "LOG_LEVEL": "info"},
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": "app",
                         "start": "python3 -m marketplace.api --env-file {env_file}", "port": 3000}},
        **extra,
    }
    return config.validate(config.Environment, data, "t")


def test_program_fills_the_env_file_placeholder(tmp_path):
    program = program_for(environment(tmp_path), "api")
    assert program.command == "python3 -m marketplace.api --env-file /srv/marketplace/api/shared/api.env"
    assert program.directory == "/srv/marketplace/api/current"


def test_env_file_has_the_secret_only_in_the_copy_for_the_host(tmp_path):
    env = environment(tmp_path)
    host = env.hosts[0]
    written = render_env(env, "api", host, secrets=True)
    shown = render_env(env, "api", host, secrets=False)
    assert f"JWT_SECRET={SECRET}" in written
    assert "JWT_SECRET=***" in shown and SECRET not in shown
    # the app listens where the gates and the load balancer look, unless configured otherwise
    assert "HOST=10.0.0.5\n" in written and "PORT=3000\n" in written
    assert health_url(env, "api", host) == "http://10.0.0.5:3000/health"


def test_configured_host_and_port_win(tmp_path):
    env = environment(tmp_path, env={"HOST": "0.0.0.0", "PORT": "8080", "JWT_SECRET": "x" * 40})
    assert env_values(env, "api", env.hosts[0])["HOST"] == "0.0.0.0"
    assert env_values(env, "api", env.hosts[0])["PORT"] == "8080"


def test_upload_steps(tmp_path):
    env = environment(tmp_path)
    manager, program = manager_for(env), program_for(env, "api")
    steps = upload_steps(env, "api", env.hosts[0], R2, Path("/tmp/a.tar.gz"), "ab" * 32, "cafe1234",
                         manager, program)
    kinds = [(type(s).__name__, getattr(s, "remote", None)) for s in steps]
    assert kinds == [
        ("Exec", None),
        ("Artifact", f"/srv/marketplace/api/artifacts/{'ab' * 32}.tar.gz"),
        ("Exec", None),
        ("Upload", f"/srv/marketplace/api/shared/.api.env.{R2}"),
        ("Upload", "/srv/marketplace/supervisor/supervisord.conf"),
        ("Upload", "/srv/marketplace/supervisor/programs/marketplace-api.conf"),
    ]
    env_upload = steps[3]
    assert env_upload.mode == 0o600 and SECRET in env_upload.text and SECRET not in env_upload.show()
    assert "JWT_SECRET=***" in env_upload.show()
    assert SECRET not in repr(env_upload)
    assert steps[0].command.render().startswith("mkdir -p /srv/marketplace/api/releases /srv/marketplace/api/shared/logs "
                                                "/srv/marketplace/api/artifacts ")
    held = steps[1]
    assert held.local == Path("/tmp/a.tar.gz") and held.partial == f"/srv/marketplace/api/artifacts/.{R2}.partial"
    assert held.held.render().startswith(f"printf '%s\\n' '{'ab' * 32}  /srv/marketplace/api/artifacts/")
    assert held.keep.render().endswith(f"mv -f {held.partial} {held.remote}")
    assert "sha256sum -c --quiet -" in held.show() and "unless the host holds it" in held.show()
    assert steps[2].command.render().startswith(f"mkdir /srv/marketplace/api/releases/{R2} && tar -xzf {held.remote} ")


def test_switch_restart_and_revert_are_one_round_trip_each(tmp_path):
    env = environment(tmp_path)
    layout, manager, program = layout_for(env, "api"), manager_for(env), program_for(env, "api")
    (switch,) = switch_steps(layout, R2, R1, with_env=True)
    assert switch.command.render().startswith("test '!' -e /srv/marketplace/api/shared/api.env || cp -p ")
    assert switch.command.render().endswith("mv -T -f /srv/marketplace/api/.current.tmp /srv/marketplace/api/current")
    (links_only,) = switch_steps(layout, R1, None, with_env=False)
    assert links_only.command.render().startswith("rm -f /srv/marketplace/api/previous && ")
    (restart,) = restart_steps(manager, program)
    assert str(restart.command) == (
        "python3 -I -S -c <supervisor_rpc.py> restart marketplace-api /srv/marketplace/supervisor/supervisord.conf "
        "/srv/marketplace/supervisor/supervisor.sock supervisord")

    back = revert_steps(layout, HostReleases((R1, R2), R1, None), True, manager, program)
    assert [s.what for s in back] == ["switch back", "restart"]
    assert back[0].command.render().startswith("test '!' -e /srv/marketplace/api/shared/api.env.previous || mv -f")
    assert f"releases/{R1} /srv/marketplace/api/.current.tmp" in back[0].command.render()

    first = revert_steps(layout, HostReleases((R2,), None, None), False, manager, program)
    assert [str(s.command) for s in first] == [
        "rm -f /srv/marketplace/api/current",
        "python3 -I -S -c <supervisor_rpc.py> stop marketplace-api /srv/marketplace/supervisor/supervisord.conf "
        "/srv/marketplace/supervisor/supervisor.sock 2>/dev/null || true"]


def test_pm2_upload_ships_the_ecosystem_file(tmp_path):
    env = environment(tmp_path, manager="pm2")
    steps = upload_steps(env, "api", env.hosts[0], R2, None, "ab" * 32, None, manager_for(env),
                         program_for(env, "api"))
    assert isinstance(steps[-1], Upload)
    assert steps[-1].remote == "/srv/marketplace/api/shared/ecosystem.marketplace-api.json"
    assert all(isinstance(s, (Exec, Upload, Artifact)) for s in steps)


class Recorder:
    """A host that answers `held` with the given exit code and records what it was asked."""
    name = "h1"

    def __init__(self, held_code: int):
        self.held_code, self.calls = held_code, []

    def run(self, command, timeout=None, check=True, env=None):
        self.calls.append(("run", command.render()))
        code = self.held_code if "touch" in command.render() else 0
        return Result(str(command), "", "", code)

    def put(self, local, remote, mode=None):
        self.calls.append(("put", remote))


def test_apply_sends_the_artifact_only_when_the_host_does_not_hold_its_sha256(tmp_path):
    env = environment(tmp_path)
    steps = upload_steps(env, "api", env.hosts[0], R2, Path("/tmp/a.tar.gz"), "ab" * 32, None,
                         manager_for(env), program_for(env, "api"))[:3]
    held = Recorder(held_code=0)
    assert apply(held, steps) == REUSED
    assert [c[0] for c in held.calls] == ["run", "run", "run"]          # prepare, held, unpack: no put
    assert held.calls[1][1] == steps[1].held.render()
    fresh = Recorder(held_code=1)                                     # no file, or other bytes
    assert apply(fresh, steps) == UPLOADED
    assert fresh.calls[2:4] == [("put", steps[1].partial), ("run", steps[1].keep.render())]
    assert apply(fresh, steps[2:]) is None                            # no artifact among the steps


def test_put_command_sets_the_mode_before_the_first_byte():
    assert put_command("/srv/a b.conf").render() == "cat > '/srv/a b.conf'"
    assert put_command("/srv/x.env", 0o600).render() == (
        "umask 077 && touch /srv/x.env && chmod 0600 /srv/x.env && cat > /srv/x.env")

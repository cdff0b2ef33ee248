"""db.client as an operator runs it: the real `invoke`, a command run here in the app's source
folder or on every host of a role (real sshd test hosts) in the app's current release, journaled
under the deploy lock; refused and unknown commands are exit 2 with nothing run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.config import environment as config
from deploy.cli.tasks.db_tools import client_command, client_line
from deploy.errors import ConfigError
from tests.support import invoke_fork
from tests.support.envs import APP_ENV, REPO, fleet_environment, make_root
from tests.support.lock_barrier import LockHolder

PUSH_REFUSAL = "schema changes go through versioned migrations (invoke db.migrate / deploy.phase1), never db push"
CLIENT = {
    "generate": {"run": "sh -c 'pwd > generated.txt; echo client ready'", "where": "local", "app": "api"},
    "broken": {"run": "sh -c 'echo half done; echo no schema >&2; exit 3'", "where": "local", "app": "api"},
    "push": {"run": "touch pushed.txt", "where": "local", "app": "api", "refuse": PUSH_REFUSAL},
}


def invoke(root: Path, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", **(env_extra or {})})
    proc = invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert APP_ENV["JWT_SECRET"] not in proc.stdout + proc.stderr
    return proc


def app_block(source: Path) -> dict:
    return {"api": {"process": "marketplace-api", "role": "api", "source": str(source), "start": "true",
                    "port": 3999}}


@pytest.fixture
def local_project(tmp_path):
    app = tmp_path / "app source"          # a space: the folder is quoted, not split
    app.mkdir()
    (tmp_path / "db.sqlite").touch()
    root = make_root(tmp_path / "project", "t", {
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": {"dialect": "sqlite", "path": str(tmp_path / "db.sqlite")},
        "env": dict(APP_ENV), "apps": app_block(app), "db_client": CLIENT})
    return root, app


def journal(db_file: Path) -> list[tuple]:
    with sqlite3.connect(db_file) as conn:
        return conn.execute("SELECT phase, action, outcome, details FROM deploy_events ORDER BY id").fetchall()


def test_a_local_command_runs_in_the_app_source_folder_and_is_journaled(local_project, tmp_path):
    root, app = local_project
    proc = invoke(root, "db.client", "generate", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["task"] == "db.client" and doc["client"] == "generate" and doc["where"] == "local"
    assert doc["hosts"] == [{"host": "local", "ok": True, "output": "client ready"}]
    assert (app / "generated.txt").read_text().strip() == str(app)
    events = journal(tmp_path / "db.sqlite")
    assert [(p, a, o) for p, a, o, _ in events] == [
        ("db-client", "start", "started"), ("db-client", "generate", "ok"), ("db-client", "finish", "ok")]
    assert json.loads(events[1][3])["run"] == CLIENT["generate"]["run"]

    human = invoke(root, "db.client", "generate", "--env", "t")
    assert human.returncode == 0 and "[local] client ready" in human.stdout


def test_a_failing_command_is_exit_1_with_its_reason_and_journaled(local_project, tmp_path):
    root, _ = local_project
    proc = invoke(root, "db.client", "broken", "--env", "t")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["error: db.client broken failed: local: exited 3: no schema"]
    outcomes = [(a, o) for _, a, o, _ in journal(tmp_path / "db.sqlite")]
    assert ("broken", "failed") in outcomes and ("finish", "failed") in outcomes


def test_refused_and_unknown_commands_are_exit_2_and_run_nothing(local_project, tmp_path):
    root, app = local_project
    proc = invoke(root, "db.client", "push", "--env", "t")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: db.client push is refused in t: {PUSH_REFUSAL}"]
    proc = invoke(root, "db.client", "studio", "--env", "t")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown db.client command 'studio' (configured: broken, generate, push)"]
    proc = invoke(root, "db.client", "generate", "--env", "t", "--lock-wait", "soon")
    assert proc.returncode == 2 and "--lock-wait: 'soon' is not a number" in proc.stderr
    assert not (app / "pushed.txt").exists() and not (app / "generated.txt").exists()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'deploy_events'").fetchall() == []


def test_dry_run_prints_the_quoted_command_and_runs_nothing(local_project):
    root, app = local_project
    proc = invoke(root, "db.client", "generate", "--env", "t", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"here: sh -c 'cd '\"'\"'{app}'\"'\"' && sh -c '\"'\"'pwd > generated.txt; "
                                   f"echo client ready'\"'\"''")
    assert not (app / "generated.txt").exists()


def test_another_deploy_holding_the_lock_is_exit_3_and_nothing_runs(local_project):
    root, app = local_project
    with LockHolder(root):                # held until the block ends, however slow the CLI start is
        proc = invoke(root, "db.client", "generate", "--env", "t")
        assert proc.returncode == 3 and "alice@laptop" in proc.stderr
        assert not (app / "generated.txt").exists()


def test_production_refuses_prisma_db_push_with_its_reason():
    """The repository's own production environment, as configured (nothing is reached: the
    refusal comes before any connection)."""
    secrets = {"DB_USER": "deployer", "DB_PASSWORD": "prod-password-for-test", "JWT_SECRET": "j" * 40}
    proc = invoke(REPO, "db.client", "push", "--env", "production", env_extra=secrets)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: db.client push is refused in production: {PUSH_REFUSAL}"]
    assert "prod-password-for-test" not in proc.stdout + proc.stderr


def test_the_command_line_is_built_from_quoted_words(local_project, monkeypatch):
    root, app = local_project
    env = config.load("t", root=root)
    assert str(client_line(env, env.db_client["push"])) == (
        f"sh -c 'cd '\"'\"'{app}'\"'\"' && touch pushed.txt'")
    remote = env.db_client["generate"].model_copy(update={"where": "api", "run": "npx prisma generate"})
    assert str(client_line(env, remote)) == "sh -c 'cd /srv/marketplace/api/current && npx prisma generate'"
    odd = remote.model_copy(update={"run": "echo 'unbalanced"})
    with pytest.raises(ConfigError, match="No closing quotation"):
        client_line(env, odd)
    with pytest.raises(ConfigError, match=r"needs a NAME \(configured: broken, generate, push\)"):
        client_command(env, None)


# -- on the fleet ---------------------------------------------------------------------------------
def test_on_a_role_it_runs_in_current_on_every_host_of_that_role(tmp_path, fleet_factory):
    fleet = fleet_factory(3)
    try:
        app = tmp_path / "app"
        app.mkdir()
        (tmp_path / "db.sqlite").touch()
        env = fleet_environment(fleet, extra={
            "hosts": [{"name": h.name, "address": h.address, "port": h.port, "roles": [role]}
                      for h, role in zip(fleet.hosts, ("api", "api", "web"))],
            "database": {"dialect": "sqlite", "path": str(tmp_path / "db.sqlite")},
            "apps": app_block(app),
            "db_client": {"generate": {"run": "sh -c 'touch generated-here && pwd'", "where": "api", "app": "api"}},
        })
        root = make_root(tmp_path / "project", "t", env)
        for host in fleet.hosts:
            host.run("mkdir -p /srv/marketplace/api/releases/r1 && ln -sfn releases/r1 /srv/marketplace/api/current")
        proc = invoke(root, "db.client", "generate", "--env", "t", "--json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert sorted(h["host"] for h in doc["hosts"]) == ["host1", "host2"]
        assert all(h["ok"] and h["output"] == "/srv/marketplace/api/current" for h in doc["hosts"]), doc
        for host, expected in zip(fleet.hosts, (0, 0, 1)):
            probe = host.run("test -f /srv/marketplace/api/releases/r1/generated-here", check=False)
            assert probe.returncode == expected, host.name

        fleet.hosts[1].run("rm /srv/marketplace/api/current")      # a host with nothing deployed
        proc = invoke(root, "db.client", "generate", "--env", "t")
        assert proc.returncode == 1
        assert "db.client generate failed: host2:" in proc.stderr and "current" in proc.stderr
    finally:
        fleet.stop()

"""The database reached from inside the fleet: an SSH tunnel over a host, and pg_dump run on a
host, against real sshd test hosts and a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deploy.config import environment as config
from deploy.db.connect import connect
from deploy.hosts.tunnel import DatabaseTunnel
from tests.support import invoke_fork
from tests.support.envs import REPO, fleet_environment, make_root

STANDIN = REPO / "examples" / "marketplace"


def setup(tmp_path, fleet, postgres, extra: dict | None = None, **database):
    odbc = postgres.fresh_database("over_ssh")
    seed = subprocess.run([sys.executable, "-m", "marketplace.sample", "--database-url", odbc, "--users", "20",
                           "--orders", "40", "--create-schema"], cwd=STANDIN, capture_output=True, text=True)
    assert seed.returncode == 0, seed.stderr
    env = fleet_environment(fleet, extra={"database": {
        "dialect": "postgres", "odbc": "${PG_ODBC}", "backups": {"dir": str(tmp_path / "backups")}, **database}})
    env["secrets"] = ["PG_ODBC"]
    env.update(extra or {})
    root = make_root(tmp_path / "project", "t", env)
    return root, {"PG_ODBC": odbc}


def invoke(root, extra_env, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", **extra_env})
    proc = invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "s3cret-pg-pass" not in proc.stdout + proc.stderr
    return proc


def test_tunnel_points_the_connection_at_a_local_forward(tmp_path, fleet3, postgres, monkeypatch):
    root, extra = setup(tmp_path, fleet3, postgres, tunnel_via=fleet3.hosts[0].name)
    monkeypatch.setenv("PG_ODBC", extra["PG_ODBC"])
    env = config.load("t", root=root)
    tunnel = DatabaseTunnel(env)
    try:
        db_config = tunnel.database()
        text = db_config.odbc.reveal()
        assert f"Port={tunnel.local_port}" in text and tunnel.local_port != postgres.port
        with connect(db_config, root) as db:
            assert db.scalar('SELECT COUNT(*) FROM "Users"') == 20
    finally:
        tunnel.close()


def test_phase1_through_the_tunnel_and_refused_when_the_host_is_down(tmp_path, fleet3, postgres):
    root, extra = setup(tmp_path, fleet3, postgres, tunnel_via=fleet3.hosts[0].name)
    proc = invoke(root, extra, "deploy.phase1", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["applied"][0]["name"] == "add_seller_ratings"

    fleet3.hosts[0].crash()
    proc = invoke(root, extra, "db.status", "--env", "t")
    assert proc.returncode == 1
    assert "cannot reach" in proc.stderr and fleet3.hosts[0].name in proc.stderr


def test_pg_dump_runs_on_a_configured_host_and_comes_back_verified(tmp_path, fleet3, postgres):
    host = fleet3.hosts[1]
    root, extra = setup(tmp_path, fleet3, postgres, backups={"dir": str(tmp_path / "backups"), "run_on": host.name})
    before = host.log.read_text(errors="replace").count("Accepted publickey")
    proc = invoke(root, extra, "db.backup", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)["backup"]
    assert record["made_on"] == host.name and record["verified"] is True
    path = Path(record["path"])
    assert path.is_file() and path.stat().st_size == record["size"]
    assert path.stat().st_mode & 0o077 == 0
    assert host.log.read_text(errors="replace").count("Accepted publickey") == before + 1
    # the dump and the passfile lived in a private temp dir on the host, removed afterwards
    left = host.run("ls -A /tmp").stdout.split()
    assert not [name for name in left if name.startswith("deploy-backup.") or name.endswith(".dump")], left


def test_phase1_refuses_before_any_change_when_a_hook_host_has_no_release(tmp_path, fleet3, postgres):
    """The hook runs in the app's current release: a host without one would fail it after the
    migration. Phase 1 says which hosts, exit 4, nothing applied; once they hold a release it runs."""
    hook = {"post_migrate": [{"run": "touch hook-ran", "where": "api", "app": "api"}]}
    app = {"api": {"process": "marketplace-api", "role": "api", "source": str(STANDIN), "start": "true",
                   "port": 3999}}
    root, extra = setup(tmp_path, fleet3, postgres, extra={"hooks": hook, "apps": app})
    current = "/srv/marketplace/api/current"
    fleet3.hosts[0].run(f"mkdir -p {current}")

    proc = invoke(root, extra, "deploy.phase1", "--env", "t")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    names = ", ".join(h.name for h in fleet3.hosts[1:])
    assert (f"the post-migrate hook `touch hook-ran` runs in the api release, but {names} have none yet "
            f"(no {current}): deploy api there first (deploy.phase2); nothing changed") in proc.stderr, proc.stderr
    status = json.loads(invoke(root, extra, "db.status", "--env", "t", "--json").stdout)
    assert {m["state"] for m in status["migrations"]} == {"pending"}, status
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())

    for host in fleet3.hosts[1:]:
        host.run(f"mkdir -p {current}")
    proc = invoke(root, extra, "deploy.phase1", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hooks"][0]["hosts"] == [h.name for h in fleet3.hosts]
    for host in fleet3.hosts:
        host.run(f"test -f {current}/hook-ran")

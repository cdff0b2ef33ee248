"""lock.status / lock.acquire / lock.release through the real `invoke`, on SQLite and PostgreSQL:
a hold freezes every mutating task (exit 3 naming who and why) until released, survives the
command that made it, shows in `status`, is journaled; a running deploy shows in lock.status and
a killed one does not (its session lock died with it, whatever its holder row says)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import invoke_fork
from tests.support.envs import APP_ENV, REPO, make_root

pytestmark = pytest.mark.integration
ACTOR = "alice@incident"

HOLDER = """
import os, time
from pathlib import Path
from deploy.config import environment as config
from deploy.db import lock
env = config.load("t")
with lock.acquire(env.database, Path(env.root), "bob@ci", "deploy.phase1", environment="t"):
    print("LOCKED", flush=True)
    time.sleep(120)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def project(request, tmp_path):
    extra: dict[str, str] = {}
    if request.param == "sqlite":
        db_file = tmp_path / "market.db"
        sqlite3.connect(db_file).close()
        database = {"dialect": "sqlite", "path": str(db_file), "backups": {"dir": str(tmp_path / "backups")}}
    else:
        extra["PG_ODBC"] = request.getfixturevalue("postgres").fresh_database("lock")
        database = {"dialect": "postgres", "odbc": "${PG_ODBC}", "backups": {"dir": str(tmp_path / "backups")}}
    root = make_root(tmp_path / "project", "t", {
        **({"secrets": ["PG_ODBC"]} if "PG_ODBC" in extra else {}),   # its password, masked
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": database,
        "env": dict(APP_ENV),
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": "app", "start": "true",
                         "port": 3998}},
    })
    (root / "app").mkdir()
    return Cli(root, extra)


class Cli:
    def __init__(self, root: Path, extra: dict[str, str]):
        self.root, self.extra = root, extra

    def env(self, actor: str = ACTOR) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update({"DEPLOY_ROOT": str(self.root), "DEPLOY_ENV": "t", "DEPLOY_ACTOR": actor, "CI": "true",
                    **self.extra})
        return env

    def run(self, *args: str, actor: str = ACTOR) -> subprocess.CompletedProcess:
        return invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=self.env(actor),
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    def json(self, *args: str, actor: str = ACTOR) -> tuple[int, dict]:
        proc = self.run(*args, "--json", actor=actor)
        return proc.returncode, json.loads(proc.stdout)


def test_a_hold_freezes_deploys_until_released(project):
    code, doc = project.json("lock.status")
    assert code == 0 and doc["hold"] is None and doc["deploy"] is None

    proc = project.run("lock.acquire", "-m", "incident 4711: payments down")
    assert proc.returncode == 0, proc.stderr
    assert "deploys held by alice@incident" in proc.stdout

    # the hold outlived the command that made it: every mutating task is refused, nothing runs
    for task in (["deploy.phase2"], ["deploy.phase1"], ["db.migrate"], ["db.backup"]):
        proc = project.run(*task, actor="bob@ci")
        assert proc.returncode == 3, (task, proc.stdout, proc.stderr)
        assert "deploys held by alice@incident since " in proc.stderr
        assert "incident 4711: payments down (lock.release lifts the hold)" in proc.stderr
    code, doc = project.json("deploy.phase2", actor="bob@ci")
    assert code == 3 and doc["exit_code"] == 3 and "incident 4711" in doc["error"]

    code, doc = project.json("lock.status")
    assert doc["hold"]["holder"] == ACTOR and doc["hold"]["message"] == "incident 4711: payments down"
    code, doc = project.json("status")
    assert doc["database"]["lock"]["hold"]["message"] == "incident 4711: payments down"
    assert "lock: held by alice@incident since " in project.run("status").stdout

    proc = project.run("lock.hold", "--message", "a second freeze", actor="carol@ci")   # alias
    assert proc.returncode == 3 and "held by alice@incident" in proc.stderr

    code, doc = project.json("lock.release", actor="carol@ci")
    assert code == 0 and doc["released"]["holder"] == ACTOR
    code, doc = project.json("lock.release")
    assert code == 0 and doc["released"] is None          # idempotent

    code, doc = project.json("db.backup", actor="bob@ci")     # released: deploys run again
    assert code == 0, doc
    code, doc = project.json("deploy.history", "--limit", "50")
    actions = [(e["phase"], e["action"], e["actor"]) for e in doc["events"]]
    assert ("lock", "hold", ACTOR) in actions and ("lock", "release", "carol@ci") in actions
    release = next(e for e in doc["events"] if e["action"] == "release")
    assert release["details"]["held_by"] == ACTOR and release["details"]["message"].startswith("incident 4711")


def test_a_hold_needs_a_message(project):
    proc = project.run("lock.acquire")
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --message TEXT is required: say why deploys are held"
    assert project.json("lock.status")[1]["hold"] is None


def test_running_deploy_shows_and_a_killed_one_does_not(project):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=REPO, env={**project.env(), "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line.strip() == "LOCKED", holder.stderr.read()
        code, doc = project.json("lock.status")
        assert code == 0 and doc["deploy"]["holder"] == "bob@ci" and doc["deploy"]["task"] == "deploy.phase1"
        assert "in use by bob@ci since " in project.run("lock.status").stdout
        # a hold waits for no running deploy: it is refused, naming the deploy
        proc = project.run("lock.acquire", "-m", "freeze")
        assert proc.returncode == 3 and "locked by bob@ci since " in proc.stderr
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        # the holder row is still there, the lock is not: status says free
        code, doc = project.json("lock.status")
        assert code == 0 and doc["deploy"] is None and doc["hold"] is None
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()

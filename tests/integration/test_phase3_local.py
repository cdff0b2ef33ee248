"""Phase 3 on this machine (the local transport), fast: refusals and soak gates with the exit codes
a CI job sees, rollout.explain, the env-file edit, and the web app's static and command modes
released, moved through the flag and rolled back - the real `invoke`, the stand-in's real build
and flag file, a real HTTP server in front (the web server / the CDN)."""

from __future__ import annotations

import functools
import http.server
import json
import re
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy.commands.release import AppLayout
from deploy.config.environment import DatabaseConfig, HostConfig
from deploy.db import journal
from deploy.db.connect import connect
from deploy.flag.units import write_command
from deploy.hosts.fleet import LocalHost
from deploy.flag.rollout import FlagState, bucket
from tests.support import invoke_fork
from tests.support.envs import APP_ENV, REPO, TEST_JWT_SECRET, make_root
from tests.support.ports import free_port

PYTHON = REPO / ".venv" / "bin" / "python"
STANDIN = REPO / "examples" / "marketplace"
BUILD = f"{PYTHON} -m marketplace.build --out {{out}}"
FLAG_JSON = f"{PYTHON} -m marketplace.web --write-flag-json public --env-file {{env_file}}"


class Local:
    """A project root over the local transport; `invoke` runs the real tasks against it."""

    def __init__(self, tmp_path: Path, apps: dict, rollout: dict | None = None, gate: str = "", **top):
        self.tmp = tmp_path
        self.srv = tmp_path / "srv"
        environment = {
            "deploy_to": str(self.srv),
            "work_dir": str(tmp_path / "work"),
            "hosts": [{"name": "box", "transport": "local", "address": "127.0.0.1", "roles": ["api", "web"]}],
            "database": {"dialect": "sqlite", "path": "db.sqlite"},
            "secrets": ["TEST_JWT"],
            "env": {**APP_ENV, "JWT_SECRET": "${TEST_JWT}", "ENABLE_RATING_FEATURE": "false",
                    "RATING_ROLLOUT_PERCENTAGE": 0},
            "apps": apps,
            "rollout": rollout or {},
            **top,
        }
        self.root = make_root(tmp_path / "project", "t", environment)
        (self.root / "db.sqlite").touch()
        (self.root / "checks" / "rollout.yaml").write_text(gate or "gate: {observe: 200ms, min_samples: 4, max_p95: 30s}\n"
                                                           "probe: {rounds: 5, timeout: 10s}\n")

    def invoke(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update({"DEPLOY_ROOT": str(self.root), "TEST_JWT": TEST_JWT_SECRET, "CI": "true"})
        return invoke_fork.run([sys.executable, "-m", "invoke", *args, "--env", "t"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    def journal(self, phase: str, action: str, ago: timedelta, details: dict | None = None) -> None:
        with connect(DatabaseConfig(dialect="sqlite", path="db.sqlite"), self.root) as db:
            journal.record(db, environment="t", phase=phase, action=action, outcome=journal.OK, actor="test",
                           details=details, at=datetime.now(timezone.utc) - ago)


def one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert TEST_JWT_SECRET not in proc.stdout + proc.stderr
    return lines[0]


APPS = {
    "api": {"process": "marketplace-api", "role": "api", "source": str(STANDIN), "start": "true", "port": 3999},
    "web": {"process": "marketplace-web", "role": "web", "source": str(STANDIN), "start": "true", "port": 3998},
}


# -- refusals, before anything is read or changed ----------------------------------------------------
@pytest.mark.parametrize("value", ["0", "33", "101", "-5", "abc"])
def test_not_a_stage_is_refused_listing_the_stages(tmp_path, value):
    proc = Local(tmp_path, APPS).invoke("deploy.phase3", "--rollout", value)
    assert proc.returncode == 2
    assert "is not a stage (the stages are 10, 25, 50, 100)" in one_error_line(proc)


def test_soak_gates_from_the_journal_exit_4_with_the_time_left(tmp_path):
    project = Local(tmp_path, APPS, rollout={"soak_after_api": "1h", "stage_soak": "1h"})
    never = project.invoke("deploy.phase3", "--rollout", "10")
    assert never.returncode == 4
    assert "phase-2 soak (API release): never happened" in one_error_line(never)

    project.journal("phase2", "finish", ago=timedelta(minutes=30))
    early = project.invoke("deploy.phase3", "--rollout", "10")
    assert early.returncode == 4
    line = one_error_line(early)
    # the CLI starts a few seconds after the journal row is written: 30m, or 29m and some seconds
    assert re.search(r"(30m|29m \d+s) left of 1h", line), line
    assert re.search(r"retry in (30m|29m \d+s)", line) and "--skip-soak --reason" in line

    no_reason = project.invoke("deploy.phase3", "--rollout", "10", "--skip-soak")
    assert no_reason.returncode == 2 and "--skip-soak needs --reason" in one_error_line(no_reason)

    # at 10% for 10 minutes: 25 waits for the stage soak, 50 is two stages up
    project.journal("phase3", "rollout", ago=timedelta(minutes=10), details={"percentage": 10, "previous": 0})
    stage = project.invoke("deploy.phase3", "--rollout", "25")
    assert stage.returncode == 4
    assert re.search(r"stage soak \(10%\): (50m|49m \d+s) left of 1h", one_error_line(stage))
    jump = project.invoke("deploy.phase3", "--rollout", "50")
    assert jump.returncode == 2 and "the next stage is 25%" in one_error_line(jump)


def test_prometheus_source_without_a_url_is_bad_config(tmp_path):
    proc = Local(tmp_path, APPS, gate="gate: {source: prometheus}\n").invoke("deploy.phase3", "--rollout", "10")
    assert proc.returncode == 2 and "prometheus.url is not set" in one_error_line(proc)


def test_rollout_explain_agrees_with_the_app(tmp_path):
    project = Local(tmp_path, APPS)
    proc = project.invoke("rollout.explain", "--user", "42", "--percentage", "30", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["bucket"] == bucket("rating", "42") and doc["enabled"] == (doc["bucket"] <= 30)
    bad = project.invoke("rollout.explain", "--user", "42", "--percentage", "abc")
    assert bad.returncode == 2


def test_env_file_edit_changes_only_the_flag_and_keeps_0600(tmp_path):
    layout = AppLayout(str(tmp_path), "api")
    Path(layout.shared_dir).mkdir(parents=True)
    env_file = Path(layout.env_file)
    env_file.write_text("JWT_SECRET='a b;c'\nRATING_ROLLOUT_PERCENTAGE=5\nX=1\nRATING_ROLLOUT_PERCENTAGE=7\n")
    env_file.chmod(0o600)
    host = LocalHost(HostConfig(name="box", transport="local"), 30)
    host.run(write_command(layout, FlagState(True, 25)))
    assert env_file.read_text() == ("JWT_SECRET='a b;c'\nRATING_ROLLOUT_PERCENTAGE=25\nX=1\n"
                                    "ENABLE_RATING_FEATURE=true\n")
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in Path(layout.shared_dir).iterdir()) == ["api.env"]   # no scratch file left


# -- the web app's static and command modes -----------------------------------------------------------
class Served:
    """A plain HTTP file server (the host's web server, or the CDN) on a free loopback port."""

    def __init__(self, directory: Path):
        self.port = free_port()
        handler = functools.partial(_Quiet, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def flag(self) -> dict:
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/flag.json", timeout=2) as resp:
            return json.loads(resp.read())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    made = []

    def serve(directory: Path) -> Served:
        made.append(Served(directory))
        return made[-1]
    yield serve
    for s in made:
        s.close()


def test_static_mode_release_flag_and_rollback(tmp_path, served):
    web_root = tmp_path / "srv" / "web" / "current" / "public"        # the web server follows `current`
    server = served(web_root)
    project = Local(tmp_path, {"web": {"process": "marketplace-web", "role": "web", "source": str(STANDIN),
                                       "mode": "static", "start": FLAG_JSON, "port": server.port,
                                       "health_path": "/flag.json", "commands": {"build": BUILD}}})
    project.journal("phase2", "finish", ago=timedelta(hours=1))

    first = project.invoke("deploy.phase3", "--json")
    assert first.returncode == 0, first.stderr
    v1 = json.loads(first.stdout)["release"]
    assert server.flag()["version"] == v1 and server.flag()["enabled"] is False
    assert (web_root / "index.html").is_file()

    ten = project.invoke("deploy.phase3", "--rollout", "10", "--json")
    assert ten.returncode == 0, ten.stderr
    doc = json.loads(ten.stdout)
    assert doc["gate"]["ok"] and doc["observe"]["ok"] and doc["release"] is None
    assert (server.flag()["enabled"], server.flag()["percentage"]) == (True, 10)

    second = project.invoke("deploy.phase3", "--json")
    assert second.returncode == 0, second.stderr
    v2 = json.loads(second.stdout)["release"]
    assert (server.flag()["version"], server.flag()["percentage"]) == (v2, 10)   # the new release keeps 10%

    back = project.invoke("rollback.frontend", "--json")
    assert back.returncode == 0, back.stderr
    assert (server.flag()["version"], server.flag()["percentage"]) == (v1, 10)   # re-published, flag kept

    off = project.invoke("rollback.frontend", "--flag-off")
    assert off.returncode == 0, off.stderr
    assert (server.flag()["enabled"], server.flag()["percentage"]) == (False, 10)
    status = project.invoke("status", "--json")
    [app] = [a for h in json.loads(status.stdout)["hosts"] for a in h["apps"].values()]
    assert app["state"] == "static" and app["flag"] == {"enabled": False, "percentage": 10, "effective": 0}


def test_command_mode_publishes_from_here_and_moves_the_flag(tmp_path, served):
    cdn = tmp_path / "cdn"
    cdn.mkdir()
    server = served(cdn)
    publish = f"{FLAG_JSON} && cp -r public/. {cdn}/"            # the runbook's `aws s3 sync build/ s3://...`
    project = Local(tmp_path, {"web": {"process": "marketplace-web", "role": "web", "source": str(STANDIN),
                                       "mode": "command", "start": publish, "port": 80,
                                       "health_path": "/flag.json", "commands": {"build": BUILD}}},
                    public_url=f"http://127.0.0.1:{server.port}")
    project.journal("phase2", "finish", ago=timedelta(hours=1))

    releases = []
    for _ in range(2):
        proc = project.invoke("deploy.phase3", "--json")
        assert proc.returncode == 0, proc.stderr
        releases.append(json.loads(proc.stdout)["release"])
        assert server.flag()["version"] == releases[-1]
    assert (cdn / "seller.html").is_file()

    ten = project.invoke("deploy.phase3", "--rollout", "10", "--json")
    assert ten.returncode == 0, ten.stderr
    assert [u["unit"] for u in json.loads(ten.stdout)["units"]] == ["publish/web"]
    assert (server.flag()["version"], server.flag()["percentage"], server.flag()["enabled"]) == \
        (releases[1], 10, True)

    back = project.invoke("rollback.frontend", "--json")
    assert back.returncode == 0, back.stderr
    assert (server.flag()["version"], server.flag()["percentage"]) == (releases[0], 10)
    env_files = [p for p in (tmp_path / "work").rglob("*.env")]
    assert env_files == []                                        # the rendered env file is gone after use

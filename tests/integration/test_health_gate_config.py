"""A bad health policy in checks/smoke.yaml, as a user meets it through the real `invoke`: every
task that runs the health gate stops with one line naming the key, exit 2, before anything changes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import invoke_fork

REPO = Path(__file__).resolve().parents[2]
JWT = "jwt-" + "s" * 40
ENV = """
secrets: [TEST_JWT]
deploy_to: {srv}
hosts:
  - {{name: box, transport: local, roles: [api]}}
database: {{dialect: sqlite, path: db.sqlite}}
env:
  JWT_SECRET: ${{TEST_JWT}}
  DATABASE_URL: "sqlite:///srv/marketplace/shared/marketplace.db"
  RATE_LIMIT_WINDOW_MS: 1000
  RATE_LIMIT_MAX_REQUESTS: 10
apps:
  api:
    process: marketplace-api
    role: api
    source: app
    start: "true"
    port: 3999
"""


def project(tmp_path: Path, health: str) -> Path:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(textwrap.dedent(ENV.format(srv=tmp_path / "srv")))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('hi')\n")
    (tmp_path / "checks").mkdir()
    shipped = (REPO / "checks" / "smoke.yaml").read_text()
    assert "  interval: 100ms\n" in shipped
    (tmp_path / "checks" / "smoke.yaml").write_text(shipped.replace("  interval: 100ms\n", health))
    return tmp_path


def invoke(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", "TEST_JWT": JWT})
    return invoke_fork.run([sys.executable, "-m", "invoke", *args, "--env", "t"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def journal_rows(root: Path) -> int:
    if not (root / "db.sqlite").is_file():
        return 0
    db = sqlite3.connect(root / "db.sqlite")
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return db.execute("SELECT count(*) FROM deploy_events").fetchone()[0] if "deploy_events" in tables else 0
    finally:
        db.close()


ZERO = ("  interval: 0s\n", "checks/smoke.yaml: health.interval: 0ms is too short: at least 10ms between "
                           "polls (the gate must not flood the host it judges)")
LONGER = ("  interval: 3s\n", "checks/smoke.yaml: health: max_interval 2s is shorter than interval 3s")


@pytest.mark.parametrize("task, bad", [
    (("deploy.phase2",), ZERO), (("deploy.phase2",), LONGER),
    (("deploy.phase2", "--dry-run"), LONGER), (("rollback.backend",), ZERO),
])
def test_a_bad_health_policy_is_one_line_exit_2_and_nothing_changes(tmp_path, task, bad):
    health, line = bad
    root = project(tmp_path, health)
    proc = invoke(root, *task)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [f"error: {line}"]
    assert not (root / "srv").exists() and journal_rows(root) == 0


def test_the_shipped_policy_shows_its_spacing_in_the_dry_run(tmp_path):
    root = project(tmp_path, "  interval: 100ms\n")
    proc = invoke(root, "deploy.phase2", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 in a row 100ms apart within 60s" in proc.stdout

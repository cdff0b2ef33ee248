"""Plain values and declared secrets (issue 16), as a user meets them through the real `invoke`:
`DB_USER=sa` loads and prints as `sa`; `DB_PASSWORD` (listed under `secrets:`) is still refused
when too short and never appears in output, --json, the env file listing or the journal."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import invoke_fork

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "examples" / "marketplace"
PASSWORD = "Hunter2-only-in-the-store"
JWT = "jwt-" + "s" * 40
ENV = """
secrets: [DB_PASSWORD, TEST_JWT]
hosts:
  - {name: box, transport: local, roles: [api]}
database: {dialect: sqlite, path: db.sqlite}
env:
  JWT_SECRET: ${TEST_JWT}
  DB_USER: ${DB_USER}
  DATABASE_URL: "sqlserver://db:1433;database=M;user=${DB_USER};password=${DB_PASSWORD}"
  RATE_LIMIT_WINDOW_MS: 1000
  RATE_LIMIT_MAX_REQUESTS: 10
apps:
  api:
    process: marketplace-api
    role: api
    source: app
    start: "true"
    port: 3999
# a tool that prints the credentials it was given when it fails (what ODBC drivers and ORMs do)
hooks:
  post_migrate:
    - {run: sh leak.sh, where: local, app: api}
"""


def project(tmp_path: Path, body: str = ENV) -> Path:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(textwrap.dedent(body))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "leak.sh").write_text(f'echo "Login failed for user sa (password {PASSWORD})" >&2\nexit 1\n')
    for folder in ("checks", "sql"):
        subprocess.run(["cp", "-r", str(REPO / folder), str(tmp_path / folder)], check=True)
    return tmp_path


def invoke(root: Path, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", "TEST_JWT": JWT, "DB_USER": "sa", "DB_PASSWORD": password})
    return invoke_fork.run([sys.executable, "-m", "invoke", *args, "--env", "t"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def no_secret_in(proc: subprocess.CompletedProcess) -> None:
    text = proc.stdout + proc.stderr
    assert PASSWORD not in text and JWT not in text, text


def test_the_env_file_listing_prints_the_plain_user_and_masks_the_password(tmp_path):
    root = project(tmp_path)
    proc = invoke(root, "deploy.phase2", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "| DB_USER=sa\n" in proc.stdout
    assert "| DATABASE_URL='sqlserver://db:1433;database=M;user=sa;password=***'\n" in proc.stdout
    assert "| JWT_SECRET=***\n" in proc.stdout
    no_secret_in(proc)
    as_json = invoke(root, "deploy.phase2", "--dry-run", "--json")
    assert as_json.returncode == 0, as_json.stderr
    steps = "\n".join(step for host in json.loads(as_json.stdout)["plan"] for step in host["steps"])
    assert "DB_USER=sa\n" in steps and "user=sa;password=***'" in steps
    no_secret_in(as_json)


def test_status_with_a_short_plain_user_loads(tmp_path):
    proc = invoke(project(tmp_path), "status", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["environment"] == "t"
    no_secret_in(proc)


def test_a_short_password_is_still_refused(tmp_path):
    proc = invoke(project(tmp_path), "status", password="pw")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["error: environments/t.yaml: env.DATABASE_URL: secret ${DB_PASSWORD} is shorter than 4 "
                     "characters: too short to be masked in output"]


def test_a_password_referenced_as_plain_is_refused(tmp_path):
    proc = invoke(project(tmp_path, ENV.replace("secrets: [DB_PASSWORD, TEST_JWT]", "secrets: [TEST_JWT]")),
                  "status", "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["error"] == ("environments/t.yaml: env.DATABASE_URL: ${DB_PASSWORD} looks like a secret "
                            "(PASSWORD in its name): list it under `secrets:` so it is masked")
    no_secret_in(proc)


def test_the_journal_keeps_the_user_and_never_the_password(tmp_path):
    root = project(tmp_path)
    seed = subprocess.run([sys.executable, "-m", "marketplace.sample", "--database-url", f"sqlite:///{root}/db.sqlite",
                           "--users", "5", "--orders", "5", "--create-schema"], cwd=STANDIN,
                          capture_output=True, text=True, timeout=120)
    assert seed.returncode == 0, seed.stderr
    proc = invoke(root, "deploy.phase1")
    assert proc.returncode == 1, proc.stderr        # the hook failed, printing the credentials
    assert "Login failed for user sa (password ***)" in proc.stderr
    no_secret_in(proc)
    with sqlite3.connect(root / "db.sqlite") as db:
        rows = db.execute("SELECT * FROM deploy_events").fetchall()
    journal = json.dumps(rows)
    assert "Login failed for user sa (password ***)" in journal     # journaled, the user as it is
    assert PASSWORD not in journal
    history = invoke(root, "deploy.history", "--json")
    assert history.returncode == 0, history.stderr
    assert "user sa (password ***)" in history.stdout
    no_secret_in(history)


@pytest.mark.parametrize("args", [("checks.preflight", "--only", "env", "--json"), ("db.status", "--json")])
def test_other_tasks_never_print_the_password(tmp_path, args):
    proc = invoke(project(tmp_path), *args)
    assert proc.returncode in (0, 1), proc.stderr
    no_secret_in(proc)

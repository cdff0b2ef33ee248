"""The task contract as a user or CI job meets it: exit codes, one-line errors, --json, masking.

Each test runs the real `invoke` in a process of its own against a throwaway project root
(DEPLOY_ROOT): `invoke()` forks it from the tests' server (tests/support/invoke_fork.py), `run_cli()`
starts a fresh interpreter - `python -m invoke` or the console script, the way a user or CI job does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import invoke_fork

REPO = Path(__file__).resolve().parents[2]
SECRET = "jwt-" + "s" * 40
LOCAL_ENV = """
secrets: [TEST_JWT]
hosts:
  - {name: box, transport: local, roles: [api]}
database: {dialect: sqlite, path: db.sqlite}
env:
  JWT_SECRET: ${TEST_JWT}
  DATABASE_URL: sqlite:////tmp/x.db
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


def project(tmp_path: Path, env_body: str = LOCAL_ENV, preflight: str | None = None) -> Path:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(textwrap.dedent(env_body))
    (tmp_path / "app").mkdir()
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "preflight.yaml").write_text(
        preflight if preflight is not None else (REPO / "checks" / "preflight.yaml").read_text())
    return tmp_path


def invoke(root: Path, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "TEST_JWT": SECRET, "CI": "true", **(env_extra or {})})
    return invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def assert_bad_input(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert SECRET not in proc.stdout + proc.stderr


def test_unknown_environment(tmp_path):
    proc = invoke(project(tmp_path), "status", "--env", "prod")
    assert_bad_input(proc, "unknown environment 'prod' (available: t)")


@pytest.mark.parametrize("body, expected", [
    ("hosts: [\n", "line 2: YAML syntax error"),
    (LOCAL_ENV + "colour: blue\n", "colour: unknown key"),
    ("hosts:\n  - {name: api-1}\ndatabase: {dialect: sqlite, path: x}\n", "host 'api-1' has no address"),
    ("hosts:\n  - {name: a, transport: local}\n  - {name: a, transport: local}\n"
     "database: {dialect: sqlite, path: x}\n", "duplicate host name 'a'"),
    (LOCAL_ENV.replace("TEST_JWT", "UNSET_SECRET_FOR_TEST"),
     "env.JWT_SECRET: secret ${UNSET_SECRET_FOR_TEST} is not set"),
    (LOCAL_ENV.replace("${TEST_JWT}", "tooshort").replace("secrets: [TEST_JWT]\n", ""),
     "JWT_SECRET is too short (8 chars, needs at least 32)"),
    (LOCAL_ENV.replace("secrets: [TEST_JWT]\n", ""),
     "env.JWT_SECRET: JWT_SECRET looks like a secret (SECRET in its name) but ${TEST_JWT} is plain"),
    ("ssh: {known_hosts: missing/known_hosts}\nhosts:\n  - {name: a, address: 127.0.0.9}\n"
     "database: {dialect: sqlite, path: x}\n", "ssh.known_hosts:"),
    (LOCAL_ENV + "batches: {size: 1, max_fail: many}\n", "batches.max_fail:"),
])
def test_bad_environment_is_one_line_exit_2(tmp_path, body, expected):
    proc = invoke(project(tmp_path, body), "status", "--env", "t")
    assert_bad_input(proc, expected)


def test_threshold_that_is_not_a_number(tmp_path):
    root = project(tmp_path, preflight="hosts: {min_cpus: many}\n")
    proc = invoke(root, "checks.preflight", "--env", "t")
    assert_bad_input(proc, "checks/preflight.yaml: hosts.min_cpus:")


def test_unknown_preflight_section(tmp_path):
    proc = invoke(project(tmp_path), "checks.preflight", "--env", "t", "--only", "hosts,dns")
    assert_bad_input(proc, "--only: unknown section(s) dns")


def test_status_json_summary_for_ci(tmp_path):
    proc = invoke(project(tmp_path), "status", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["exit_code"] == 0 and doc["task"] == "status"
    assert doc["environment"] == "t"
    host = doc["hosts"][0]
    assert host["host"] == "box" and host["reachable"] is True
    assert host["apps"]["api"]["process"] == "marketplace-api"
    assert host["apps"]["api"]["state"] == "absent"
    assert "does not exist" in doc["database"]["error"]     # reported, not fatal


def test_json_error_still_prints_a_document(tmp_path):
    proc = invoke(project(tmp_path), "status", "--env", "nope", "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2 and "unknown environment" in doc["error"]


def test_preflight_env_section_passes_and_never_prints_secrets(tmp_path):
    proc = invoke(project(tmp_path), "checks.preflight", "--env", "t", "--only", "env", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    names = {i["name"]: i["status"] for i in doc["items"]}
    assert names["api: JWT_SECRET"] == "pass"
    assert names["api: RATING_ROLLOUT_PERCENTAGE"] == "skip"
    assert SECRET not in proc.stdout + proc.stderr


def test_every_task_documents_itself():
    proc = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for name in ("checks.preflight", "status", "demo"):
        assert name in proc.stdout
    helps = subprocess.run([sys.executable, "-m", "invoke", "--help", "checks.preflight"], cwd=REPO,
                           capture_output=True, text=True, timeout=60).stdout
    for flag in ("--env", "--json", "--only", "--skip"):
        assert flag in helps


# -- parse errors: a typo is bad input (exit 2), through invoke and through the console script ----------
SCRIPT = Path(sys.executable).with_name("marketplace-deploy")
COMMANDS = {"invoke": [sys.executable, "-m", "invoke"], "script": [str(SCRIPT)]}


def run_cli(kind: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    assert SCRIPT.is_file(), f"{SCRIPT} missing: install the package (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "TEST_JWT": SECRET, "CI": "true"})
    return subprocess.run([*COMMANDS[kind], *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


TYPOS = [
    (("deploy.phase2", "--usr", "x"), "deploy.phase2: unknown flag '--usr'", "deploy.phase2"),
    (("deploy.phase5",), "unknown task 'deploy.phase5'", "deploy.phase5"),
    (("status", "--env"), "status: --env needs a value", "status"),
    (("deploy.phase1", "--env", "t", "--lock-wait"), "deploy.phase1: --lock-wait needs a value", "deploy.phase1"),
    (("status", "extra"), "status: unexpected argument 'extra'", "status"),
    (("status", "--role", "api", "--host"), "status: --host needs a value", "status"),
    (("--help", "deploy.phase9"), "unknown task 'deploy.phase9'", "deploy.phase9"),
]


@pytest.mark.parametrize("kind", sorted(COMMANDS))
@pytest.mark.parametrize("args, expected, task", TYPOS, ids=[" ".join(t[0]) for t in TYPOS])
def test_every_typo_form_exits_2_with_one_line(tmp_path, kind, args, expected, task):
    proc = run_cli(kind, project(tmp_path), *args)
    assert_bad_input(proc, expected)
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ")


# not `--help TASK` (--json after it is not a task's), not a trailing --host (it would take --json as its value)
JSON_TYPOS = [t for t in TYPOS if t[0][0] != "--help" and t[0][-1] != "--host"]


@pytest.mark.parametrize("kind", sorted(COMMANDS))
@pytest.mark.parametrize("args, expected, task", JSON_TYPOS, ids=[" ".join(t[0]) for t in JSON_TYPOS])
def test_typo_with_json_anywhere_prints_the_envelope(tmp_path, kind, args, expected, task):
    root = project(tmp_path)
    proc = run_cli(kind, root, *args, "--json")
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2 and doc["task"] == task
    assert expected in doc["error"] and set(doc) == {"task", "environment", "ok", "exit_code", "error"}
    assert len(proc.stderr.strip().splitlines()) == 1
    # before the task --json is itself the unknown option, but a CI job still gets the envelope
    proc = run_cli(kind, root, "--json", *args)
    assert proc.returncode == 2 and json.loads(proc.stdout)["exit_code"] == 2, proc.stderr


def test_console_script_version_and_tasks(tmp_path):
    import deploy
    from importlib.metadata import version

    proc = run_cli("script", project(tmp_path), "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"marketplace-deploy {deploy.__version__}"
    assert version("marketplace-deploy") == deploy.__version__
    listed = json.loads(run_cli("script", tmp_path, "--list", "--list-format=json").stdout)
    by_invoke = json.loads(run_cli("invoke", tmp_path, "--list", "--list-format=json").stdout)
    for key in ("tasks", "collections", "default"):
        assert listed[key] == by_invoke[key], key
    assert {"deploy", "db", "rollback"} <= {c["name"] for c in listed["collections"]}


def test_console_script_runs_tasks_with_the_task_contract(tmp_path):
    proc = run_cli("script", project(tmp_path), "status", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hosts"][0]["host"] == "box"
    proc = run_cli("script", tmp_path, "status", "--env", "nope")
    assert_bad_input(proc, "unknown environment 'nope'")


def test_config_prints_the_resolved_environment_with_secrets_masked(tmp_path):
    root = project(tmp_path)
    proc = invoke(root, "config", "--env", "t", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["config"]
    assert doc["env"]["JWT_SECRET"] == "***" and doc["env"]["RATE_LIMIT_MAX_REQUESTS"] == "10"
    assert doc["hosts"][0]["name"] == "box" and doc["batches"] == {"size": 1, "max_fail": 0}   # defaults filled
    assert doc["database"]["path"] == "db.sqlite" and doc["root"] == str(root)
    human = invoke(root, "config", "--env", "t")
    assert human.returncode == 0 and "JWT_SECRET: '***'" in human.stdout
    assert SECRET not in proc.stdout + proc.stderr + human.stdout + human.stderr


def test_an_unforeseen_error_is_one_line_exit_1_with_the_envelope(tmp_path):
    """An exception no task maps (here: the backups folder lies under a file, a real OSError from
    deep in db.backup) is one line and exit 1, the --json envelope too; the traceback only when
    asked for (DEPLOY_DEBUG=1 or invoke --debug). A secret in its text stays masked."""
    blocker = tmp_path / SECRET                       # a file where a folder is needed
    blocker.write_text("not a folder")
    (tmp_path / "p").mkdir()
    root = project(tmp_path / "p", LOCAL_ENV.replace(
        "database: {dialect: sqlite, path: db.sqlite}",
        f"database: {{dialect: sqlite, path: db.sqlite, backups: {{dir: '{blocker}/sub'}}}}"))
    import sqlite3
    sqlite3.connect(root / "db.sqlite").close()

    proc = invoke(root, "db.backup", "--env", "t")
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"error: db.backup failed unexpectedly: NotADirectoryError: [Errno 20] Not a directory: "
                     f"'{tmp_path}/***/sub' (DEPLOY_DEBUG=1 or invoke --debug shows the traceback)"], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and SECRET not in proc.stdout + proc.stderr

    proc = invoke(root, "db.backup", "--env", "t", "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc == {"task": "db.backup", "environment": "t", "ok": False, "exit_code": 1,
                   "error": f"db.backup failed unexpectedly: NotADirectoryError: [Errno 20] Not a directory: "
                            f"'{tmp_path}/***/sub'"}
    assert proc.stderr.strip().splitlines()[-1].startswith("error: db.backup failed unexpectedly: NotADirectoryError")
    assert "Traceback" not in proc.stderr

    for debug in ({"env_extra": {"DEPLOY_DEBUG": "1"}, "args": ()}, {"env_extra": {}, "args": ("--debug",)}):
        proc = invoke(root, *debug["args"], "db.backup", "--env", "t", env_extra=debug["env_extra"])
        assert proc.returncode == 1
        assert "Traceback (most recent call last)" in proc.stderr and "in _backup_sqlite" in proc.stderr
        assert "(DEPLOY_DEBUG=1" not in proc.stderr and SECRET not in proc.stdout + proc.stderr

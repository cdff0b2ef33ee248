"""`invoke --list` and `invoke --help TASK` read only the tasks' names, flags and help: they must not
import the libraries the tasks run on, or every `invoke` the pipeline and its tests start pays for
every task's (about 1.5 s of CPU before the task modules loaded their implementation lazily).

Each command runs in a Python of its own with `-X importtime`, which names every module the
process imports, the first time it is imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.envs import REPO

# what a task loads when it runs: SSH, config models, templates, HTTP, ODBC, terminal output, SQL parsing
HEAVY = ("paramiko", "fabric", "cryptography", "pydantic", "jinja2", "requests", "urllib3", "pyodbc", "rich",
         "sqlglot")


def imported(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module `python -X importtime ARGV` imported (from its report on stderr)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def heavy(modules: set[str]) -> list[str]:
    return sorted({name.split(".")[0] for name in modules} & set(HEAVY))


@pytest.mark.parametrize("argv", [
    ("-m", "invoke", "--list"),
    ("-m", "invoke", "--help", "deploy.phase2"),
    ("-m", "invoke", "--help", "monitor.alerts"),
    ("-c", "from deploy.cli.program import program; program().run(['marketplace-deploy', '--list'])"),
    ("-c", "import deploy.cli.collection"),
], ids=["invoke --list", "invoke --help deploy.phase2", "invoke --help monitor.alerts",
        "marketplace-deploy --list", "import deploy.cli.collection"])
def test_listing_the_tasks_imports_none_of_their_libraries(argv):
    modules = imported(*argv)
    assert "deploy.cli.tasks.deploy" in modules        # the collection was loaded
    assert heavy(modules) == []


def test_running_a_task_does_import_what_it_needs():
    """The check above can see a heavy import: a task that reads its environment loads pydantic."""
    modules = imported("-m", "invoke", "rollout.explain", "--user", "42", "--env", "local",
                       env={"DEPLOY_ROOT": str(REPO), "JWT_SECRET": "s" * 40})
    assert "pydantic" in heavy(modules) and "deploy.flag.rollout" in modules


def test_a_lazy_module_is_imported_on_its_first_use():
    code = ("import sys; from deploy.lazy import lazy; m = lazy('deploy.flag.rollout'); "
            "before = 'deploy.flag.rollout' in sys.modules; m.explain; print(before, 'deploy.flag.rollout' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "True"], proc.stderr


# -- a task's start: its implementation loads, the libraries of the paths it does not take do not --
# SSH, HTTP, token minting (cryptography), templates, ODBC: imported where a host is reached, a URL
# fetched, a token minted, a file rendered, a database opened over ODBC - never by importing a module
ON_USE = ("paramiko", "fabric", "cryptography", "jwt", "requests", "urllib3", "jinja2", "pyodbc", "psycopg",
          "psycopg2")
# standard-library packages a task start does not need; invoke itself imports asyncio and ssl
# (invoke.context imports unittest.mock for MockContext), so they count only when we add them
STDLIB_HEAVY = ("asyncio", "unittest", "ssl", "email", "http", "xml", "tarfile", "sqlite3", "multiprocessing")

# -X importtime does not see a module imported through importlib.import_module (deploy.lazy does
# that), only what that module imports in turn: these checks read sys.modules as the process exits
_AT_EXIT = ("import atexit, os, runpy, sys\n"
            "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write('\\n'.join(sorted(sys.modules))))\n")


def loaded(tmp_path, code: str = "", invoke: tuple[str, ...] = (), env: dict[str, str] | None = None) -> set[str]:
    """sys.modules at the exit of a Python running CODE, or `invoke INVOKE...` when given."""
    out = tmp_path / "modules.txt"
    if invoke:
        code = f"sys.argv = ['invoke', *{list(invoke)!r}]\nrunpy.run_module('invoke', run_name='__main__')\n"
    proc = subprocess.run([sys.executable, "-c", _AT_EXIT + code], cwd=REPO, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {}), "MODULES_OUT": str(out)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return set(out.read_text().split())


def tops(modules: set[str], names) -> list[str]:
    return sorted({name.split(".")[0] for name in modules} & set(names))


def test_importing_any_deploy_module_loads_no_ssh_http_jwt_template_or_odbc_library(tmp_path):
    code = ("import importlib, pkgutil, deploy\n"
            "for m in pkgutil.walk_packages(deploy.__path__, 'deploy.'):\n"
            "    importlib.import_module(m.name)\n")
    modules = loaded(tmp_path, code)
    assert {"deploy.hosts.fleet", "deploy.gates.health", "deploy.phases.phase2", "deploy.process.templates", "deploy.demo.traffic",
            "deploy.db.connect", "deploy.monitoring.scrape", "deploy.cli.tasks.deploy"} <= modules
    assert tops(modules, ON_USE) == []


def test_import_tasks_adds_no_heavy_package_to_what_invoke_imports(tmp_path):
    own = loaded(tmp_path, "import tasks") - loaded(tmp_path, "import invoke")
    assert {"deploy.cli.collection", "deploy.cli.tasks.deploy"} <= own
    assert tops(own, STDLIB_HEAVY + HEAVY + ON_USE) == []


@pytest.mark.parametrize("argv, needed", [
    (("deploy.phase2", "--dry-run", "--json"), {"deploy.phases.phase2", "jinja2"}),   # it renders the env file
    (("status", "--json"), {"deploy.operate.status", "pydantic"}),
], ids=["deploy.phase2 --dry-run", "status"])
def test_a_task_on_local_hosts_loads_no_ssh_http_or_jwt_library(tmp_path, argv, needed):
    """A dry run checks that a smoke token can be had; it mints none (PyJWT loads cryptography).
    The project root is the shipped files without the checkout's .work/: what the demo left
    deployed (or stopped) there must not decide this test's exit code."""
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("environments", "checks", "sql", "examples"):
        (root / folder).symlink_to(REPO / folder)
    modules = loaded(tmp_path, invoke=(*argv, "--env", "local"),
                     env={"DEPLOY_ROOT": str(root), "JWT_SECRET": "s" * 40})
    assert needed <= modules
    assert tops(modules, ("paramiko", "fabric", "requests", "urllib3", "jwt", "cryptography")) == []
    # the T-SQL guard compiles ~30 patterns on import: only a database of dialect mssql loads it
    assert "deploy.db.connect" in modules and "deploy.db.tsql_guard" not in modules


def test_python_dotenv_loads_only_for_a_project_with_a_dotenv_file(tmp_path):
    """${VAR}s come from the process environment (CI) or .env beside the project (the demo):
    python-dotenv (and the logging it imports) loads only when there is a .env to read."""
    code = ("import sys; from pathlib import Path\n"
            "from deploy.config.environment import _variables\n"
            "values = _variables(Path(sys.argv[1]))\n"
            "print('dotenv' in sys.modules, repr(values.get('FROM_DOTENV')))\n")

    def run(root) -> str:
        proc = subprocess.run([sys.executable, "-c", code, str(root)], cwd=REPO, capture_output=True, text=True,
                              timeout=120, env={k: v for k, v in os.environ.items() if k != "FROM_DOTENV"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert run(tmp_path) == "False None"
    (tmp_path / ".env").write_text("FROM_DOTENV='read by dotenv'\n")
    assert run(tmp_path) == "True 'read by dotenv'"


def test_a_probe_loads_its_http_client_before_it_times_an_answer():
    """requests loads on first use; the metrics gate's probe times each answer, so it must load it
    before its clock starts - or the first round's answers carry the import (threads waiting on the
    import lock: p95 600 ms, seen failing the demo's gate). The fake fetch asks at its first call."""
    code = ("import sys\n"
            "from deploy.gates import metrics as metrics_gate, health as gates\n"
            "assert 'requests' not in sys.modules\n"
            "seen = []\n"
            "def fetch(url, timeout, headers, method):\n"
            "    seen.append('requests' in sys.modules)\n"
            "    return gates.Answer(200, '{}')\n"
            "targets = [metrics_gate.ProbeTarget('h', 'health', 'http://h/health', 200)]\n"
            "metrics_gate.probe(targets, rounds=2, timeout=1, fetch=fetch)\n"
            "print(seen)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[True, True]"

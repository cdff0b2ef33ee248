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
    ("-c", "from deploy.program import program; program().run(['marketplace-deploy', '--list'])"),
    ("-c", "import deploy.collection"),
], ids=["invoke --list", "invoke --help deploy.phase2", "invoke --help monitor.alerts",
        "marketplace-deploy --list", "import deploy.collection"])
def test_listing_the_tasks_imports_none_of_their_libraries(argv):
    modules = imported(*argv)
    assert "deploy.tasks.deploy" in modules        # the collection was loaded
    assert heavy(modules) == []


def test_running_a_task_does_import_what_it_needs():
    """The check above can see a heavy import: a task that reads its environment loads pydantic."""
    modules = imported("-m", "invoke", "rollout.explain", "--user", "42", "--env", "local",
                       env={"DEPLOY_ROOT": str(REPO), "JWT_SECRET": "s" * 40})
    assert "pydantic" in heavy(modules) and "deploy.rollout" in modules


def test_a_lazy_module_is_imported_on_its_first_use():
    code = ("import sys; from deploy.lazy import lazy; m = lazy('deploy.rollout'); "
            "before = 'deploy.rollout' in sys.modules; m.explain; print(before, 'deploy.rollout' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "True"], proc.stderr

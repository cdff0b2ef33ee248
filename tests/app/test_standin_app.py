"""The stand-in marketplace app's own commands, run the way the pipeline's preflight runs them
(the runbook's npm test / tsc --noEmit / npm run build), so the project's pytest covers them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from deploy.db import tsql_guard
from tests.support import strict

APP_ROOT = Path(__file__).resolve().parents[2] / "examples" / "marketplace"


def run(*args: str, cwd: Path = APP_ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def test_app_unittest_suite_passes():
    result = run("-m", "unittest", "discover", "-s", "tests", "-t", ".")
    tail = "\n".join(result.stderr.strip().splitlines()[-40:])
    assert result.returncode == 0, tail
    verdict = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"OK( \(skipped=\d+\))?", verdict), tail
    ran = [line for line in result.stderr.splitlines() if line.startswith("Ran ")]
    assert ran and int(ran[-1].split()[1]) >= 50, tail
    if verdict != "OK":     # `OK (skipped=N)`: a pass only outside strict mode
        strict.missing(f"the stand-in app's suite skipped tests: {verdict}")


def test_app_suite_turns_every_kind_of_skip_into_a_failure_in_strict_mode(tmp_path):
    """The app's tests/__init__.py wraps the run: support.need, skipTest and @unittest.skip all fail
    under DEPLOY_TEST_STRICT=1 (and stay skips without it)."""
    package = tmp_path / "tests"
    package.mkdir()
    for name in ("__init__.py", "support.py"):
        shutil.copy(APP_ROOT / "tests" / name, package / name)
    (package / "test_probe.py").write_text(textwrap.dedent("""
        import unittest
        from tests import support

        class Probe(unittest.TestCase):
            @unittest.skip("decorated")
            def test_decorated(self):
                pass

            def test_skip_test(self):
                self.skipTest("called")

            def test_need(self):
                support.need(False, "a missing part")

            def test_passes(self):
                pass

        class Zz(unittest.TestCase):      # the run's last class (classes run in name order): torn down?
            @classmethod
            def tearDownClass(cls):
                with open(os.environ["TORN_DOWN"], "a") as marker:
                    marker.write("Last;")

            def test_passes(self):
                pass
        """).replace("import unittest", "import os\nimport unittest"))
    marker = tmp_path / "torn-down"
    environ = {**os.environ, "PYTHONPATH": str(APP_ROOT), "TORN_DOWN": str(marker)}
    command = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
    environ["DEPLOY_TEST_STRICT"] = "1"
    strict_run = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120)
    assert strict_run.returncode == 1, strict_run.stderr
    assert strict_run.stderr.strip().splitlines()[-1] == "FAILED (failures=3)", strict_run.stderr
    for reason in ("skipped: decorated", "skipped: called", "strict mode: a missing part"):
        assert reason in strict_run.stderr
    environ["DEPLOY_TEST_STRICT"] = "0"
    lenient = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120)
    assert lenient.returncode == 0 and lenient.stderr.strip().splitlines()[-1] == "OK (skipped=3)", lenient.stderr
    # the wrapper keeps unittest's class bookkeeping: the last class was torn down in both runs
    assert marker.read_text() == "Last;Last;"


def test_app_typecheck_passes():
    result = run("-m", "compileall", "-q", "marketplace")
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_writes_release_tree(tmp_path):
    out = tmp_path / "release"
    result = run("-m", "marketplace.build", "--out", str(out), "--version", "2024.01.15-1")
    assert result.returncode == 0, result.stderr
    assert (out / "VERSION").read_text().strip() == "2024.01.15-1"
    for rel in ("marketplace/api.py", "marketplace/web.py", "marketplace/bucketing.py", "marketplace/sample.py",
                "schema/sqlite.sql", "schema/postgres.sql", "schema/mssql.sql",
                "web/templates/seller.html", "public/index.html", "public/seller.html",
                "public/app.js", "public/styles.css"):
        assert (out / rel).is_file(), rel
    assert not list(out.rglob("__pycache__"))
    assert "murmur3_32" in (out / "public" / "app.js").read_text()
    assert "2024.01.15-1" in (out / "public" / "seller.html").read_text()
    # The built release is itself a release root: its package imports and reports the version.
    check = run("-c", "from marketplace import config; print(config.read_version({}))", cwd=out)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "2024.01.15-1"


def test_flag_json_for_static_site(tmp_path):
    env_file = tmp_path / "web.env"
    env_file.write_text("ENABLE_RATING_FEATURE=true\nRATING_ROLLOUT_PERCENTAGE=25\n")
    result = run("-m", "marketplace.web", "--write-flag-json", str(tmp_path / "public"), "--env-file", str(env_file))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "public" / "flag.json").read_text()
    assert '"percentage": 25' in text and '"enabled": true' in text


RECORD_MSSQL = """
import json
from marketplace import ratings
from tests.test_mssql_sql import RecordingSession
s = RecordingSession()
ratings.list_ratings(s, 1, 20, 40)
ratings.eligibility(s, 2, 1)
ratings.create(s, 2, 1, 5, "ok")
ratings.update(s, 2, 10, {"rating": 3, "comment": None})
ratings.delete(s, 2, 10)
print(json.dumps(s.statements + [ratings.RECOMPUTE_RANGE]))
"""


def test_the_stand_in_apps_t_sql_passes_the_guard():
    """The app's SQL Server schema and every statement its rating rules send on SQL Server (as its
    own test records them) hold no other dialect's syntax - the same guard as sql/mssql."""
    schema = (APP_ROOT / "schema" / "mssql.sql").read_text()
    assert [f.at("examples/marketplace/schema/mssql.sql") for f in tsql_guard.check(schema)] == []
    result = run("-c", RECORD_MSSQL)
    assert result.returncode == 0, result.stderr
    statements = json.loads(result.stdout)
    assert len(statements) > 10
    bad = [f.at(f"statement {i}") for i, sql in enumerate(statements) for f in tsql_guard.check(sql)]
    assert bad == []

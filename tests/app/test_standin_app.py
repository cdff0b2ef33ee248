"""The stand-in marketplace app's own commands, run the way the pipeline's preflight runs them
(the runbook's npm test / tsc --noEmit / npm run build), so the project's pytest covers them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parents[2] / "examples" / "marketplace"


def run(*args: str, cwd: Path = APP_ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def test_app_unittest_suite_passes():
    result = run("-m", "unittest", "discover", "-s", "tests", "-t", ".")
    tail = "\n".join(result.stderr.strip().splitlines()[-40:])
    assert result.returncode == 0, tail
    assert "\nOK" in result.stderr, tail
    ran = [line for line in result.stderr.splitlines() if line.startswith("Ran ")]
    assert ran and int(ran[-1].split()[1]) >= 50, tail


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

"""The README's first command: the main job end to end on `local`, in a throwaway project root."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from deploy.cli.tasks import demo
from tests.support.envs import REPO
from tests.support.ports import free_port


@pytest.mark.long
def test_demo_runs_every_phase_end_to_end_and_again(tmp_path, monkeypatch, capsys):
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("environments", "checks", "sql"):
        shutil.copytree(REPO / folder, root / folder)
    # ports of its own: a demo deployed from the checkout itself may be running on the usual ones
    local = root / "environments" / "local.yaml"
    api_port, web_port = free_port(), free_port()
    local.write_text(local.read_text().replace("3300", str(api_port)).replace("3301", str(web_port)))
    (root / "examples").symlink_to(REPO / "examples")
    (root / ".venv").symlink_to(Path(sys.prefix))          # local.yaml: supervisord from the venv
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    secret = "demo-secret-" + "z" * 40
    env.update({"DEPLOY_ROOT": str(root), "JWT_SECRET": secret, "CI": "true",
                "PATH": f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}"})
    conf = root / ".work" / "local" / "srv" / "supervisor" / "supervisord.conf"
    runs = []
    try:
        for attempt in (1, 2):   # a second run must pass too: nothing pending, a new release, idempotent backfill
            proc = subprocess.run([sys.executable, "-m", "invoke", "demo"], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
            assert "demo complete" in proc.stdout
            assert secret not in proc.stdout + proc.stderr
            assert "claim does not hold" not in proc.stderr
            runs.append(proc)
        health = requests.get(f"http://127.0.0.1:{api_port}/health", timeout=5).json()
        assert health["status"] == "ok" and health["database"] == "ok"

        # the demo's claims, as it checked them: the first run's buyers got 200s and 201s, its burst
        # fired the abuse rule and nothing else fired; the re-run found every pair already rated
        first, again = runs[0].stdout, runs[1].stdout
        created = int(re.search(r"(\d+) ratings created", first)[1])
        assert created >= 20 and f"200: {created}" in first and f"201: {created}" in first, first
        assert re.search(r"rating_spike +database +FIRING .*potential abuse", first), first
        assert "(exit 1, as expected: rating_spike fired" in first
        assert re.search(rf"0 ratings created, {created} already rated", again), again
        # the first run ran the app's tests; the re-run, on the same sources, says it leaves them out
        assert "`python3 -m unittest discover -s tests -t .` ok in" in first, first
        assert "not run again" not in first
        assert "not run again\n$ invoke checks.preflight --skip commands --env local" in again, again
        assert "unittest" not in again.split("=== 3.")[0].split("--skip commands")[1], again

        # and the alert step fails when the abuse rule does not fire on such a burst: the same live
        # API and database, the rule switched off
        (root / "checks" / "alerts.yaml").write_text("rating_spike: {enabled: false}\n")
        for key in [k for k in os.environ if k.startswith("DEPLOY_")]:
            monkeypatch.delenv(key)
        for key in ("DEPLOY_ROOT", "JWT_SECRET", "CI", "PATH"):
            monkeypatch.setenv(key, env[key])
        monkeypatch.setattr(demo.OBSERVED, "burst", created)
        capsys.readouterr()
        assert demo.abuse_alert("local") == 1
        said = capsys.readouterr()
        assert "rating_spike" not in said.out and "discrepancies  database   ok" in said.out, said.out
        assert (f"claim does not hold (the abuse rule fires on the demo's burst, nothing else fires): the abuse "
                f"rule (rating_spike) did not fire on the demo's burst of {created} ratings: the rule was not "
                "evaluated") in said.err, said.err
    finally:   # the demo leaves the API running, as a deploy does: stop this test's supervisord
        stop_supervisord(conf)
    assert "phase 1: nothing pending" in proc.stdout
    assert not (REPO / "examples" / "marketplace" / "{out}").exists()   # preflight builds into a temp dir
    db = sqlite3.connect(root / ".work" / "local" / "marketplace.db")
    ratings = db.execute('SELECT COUNT(*) FROM "SellerRatings"').fetchone()[0]
    assert ratings >= 30
    mismatched = db.execute('SELECT COUNT(*) FROM "Users" u WHERE "TotalRatings" <> '
                            '(SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = u."Id")').fetchone()[0]
    assert mismatched == 0


def stop_supervisord(conf: Path) -> None:
    """supervisorctl shutdown, and if that does not answer (a loaded machine), SIGTERM to the pid in
    supervisord.pid: supervisord stops its programs either way, so the test leaves nothing running."""
    if not conf.exists():
        return
    try:
        if subprocess.run([str(Path(sys.prefix) / "bin" / "supervisorctl"), "-c", str(conf), "shutdown"],
                          capture_output=True, timeout=60).returncode == 0:
            return
    except subprocess.TimeoutExpired:
        pass
    pidfile = conf.parent / "supervisord.pid"
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        pass

"""The README's first command: the main job end to end on `local`, in a throwaway project root."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.envs import REPO
from tests.support.postgres import free_port


def test_demo_runs_every_phase_end_to_end_and_again(tmp_path):
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
    try:
        for attempt in (1, 2):   # a second run must pass too: nothing pending, a new release, idempotent backfill
            proc = subprocess.run([sys.executable, "-m", "invoke", "demo"], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
            assert "demo complete" in proc.stdout
            assert secret not in proc.stdout + proc.stderr
        health = requests.get(f"http://127.0.0.1:{api_port}/health", timeout=5).json()
        assert health["status"] == "ok" and health["database"] == "ok"
    finally:   # the demo leaves the API running, as a deploy does: stop this test's supervisord
        if conf.exists():
            subprocess.run([str(Path(sys.prefix) / "bin" / "supervisorctl"), "-c", str(conf), "shutdown"],
                           capture_output=True, timeout=60)
    assert "phase 1: nothing pending" in proc.stdout
    assert not (REPO / "examples" / "marketplace" / "{out}").exists()   # preflight builds into a temp dir
    db = sqlite3.connect(root / ".work" / "local" / "marketplace.db")
    ratings = db.execute('SELECT COUNT(*) FROM "SellerRatings"').fetchone()[0]
    assert ratings >= 30
    mismatched = db.execute('SELECT COUNT(*) FROM "Users" u WHERE "TotalRatings" <> '
                            '(SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = u."Id")').fetchone()[0]
    assert mismatched == 0

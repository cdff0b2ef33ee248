"""The README's first command: the main job end to end on `local`, in a throwaway project root."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

from tests.support.envs import REPO


def test_demo_runs_every_phase_end_to_end_and_again(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("environments", "checks", "sql"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "examples").symlink_to(REPO / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    secret = "demo-secret-" + "z" * 40
    env.update({"DEPLOY_ROOT": str(root), "JWT_SECRET": secret, "CI": "true",
                "PATH": f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}"})
    for attempt in (1, 2):   # a second run must pass too: nothing pending, idempotent backfill
        proc = subprocess.run([sys.executable, "-m", "invoke", "demo"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "demo complete" in proc.stdout
        assert secret not in proc.stdout + proc.stderr
    assert "phase 1: nothing pending" in proc.stdout
    db = sqlite3.connect(root / ".work" / "local" / "marketplace.db")
    ratings = db.execute('SELECT COUNT(*) FROM "SellerRatings"').fetchone()[0]
    assert ratings >= 30
    mismatched = db.execute('SELECT COUNT(*) FROM "Users" u WHERE "TotalRatings" <> '
                            '(SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = u."Id")').fetchone()[0]
    assert mismatched == 0

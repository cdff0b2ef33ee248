"""The deploy lock on real SQLite and PostgreSQL: refusal naming the holder, no stale lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.db import lock
from deploy.errors import LockHeld

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import json, os, sys, time
from pathlib import Path
from deploy.config import DatabaseConfig
from deploy.db import lock
spec = json.loads(os.environ["LOCK_SPEC"])
config = DatabaseConfig(**spec["config"])
with lock.acquire(config, Path(spec["root"]), "alice@ci", "deploy.phase1", environment="staging"):
    print("LOCKED", flush=True)
    time.sleep(120)
"""


def spawn_holder(config, root) -> subprocess.Popen:
    spec = {"config": {k: (v.reveal() if hasattr(v, "reveal") else v)
                       for k, v in config.model_dump(exclude={"backups"}).items() if v is not None},
            "root": str(root)}
    # the connection string travels in the environment, never on a command line
    env = {**os.environ, "LOCK_SPEC": json.dumps(spec), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    if line.strip() != "LOCKED":
        proc.kill()
        raise AssertionError(f"holder did not lock: {line!r} {proc.stderr.read()}")
    return proc


def test_second_holder_is_refused_naming_the_first(db_target):
    config, root = db_target
    with lock.acquire(config, root, "alice@ci", "deploy.phase1", environment="staging") as held:
        assert held.holder == "alice@ci"
        started = time.monotonic()
        with pytest.raises(LockHeld) as err:
            with lock.acquire(config, root, "bob@laptop", "deploy.phase2", environment="staging"):
                pytest.fail("two holders at once")
        assert time.monotonic() - started < 5
        message = str(err.value)
        assert message.startswith("locked by alice@ci since ") and message.endswith("Z (task deploy.phase1)")
        assert err.value.exit_code == 3
    # released: the next one gets it at once
    with lock.acquire(config, root, "bob@laptop", "deploy.phase2", environment="staging") as held:
        assert held.task == "deploy.phase2"


def test_waiting_holder_gets_the_lock_when_it_is_released(db_target):
    import threading

    config, root = db_target
    release = threading.Event()

    def first():
        with lock.acquire(config, root, "alice", "deploy.phase1"):
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.5)
    threading.Timer(0.7, release.set).start()
    with lock.acquire(config, root, "bob", "deploy.phase2", wait_seconds=10) as held:
        assert held.holder == "bob"
    t.join()


def test_a_holder_killed_with_sigkill_leaves_no_lock(db_target):
    config, root = db_target
    proc = spawn_holder(config, root)
    try:
        with pytest.raises(LockHeld, match="locked by alice@ci since .* \\(task deploy.phase1\\)"):
            with lock.acquire(config, root, "bob", "deploy.phase2", environment="staging"):
                pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        # the session (postgres) or the descriptor (sqlite) died with the process
        with lock.acquire(config, root, "bob", "deploy.phase2", environment="staging", wait_seconds=10) as held:
            assert held.holder == "bob"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

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
from deploy.config.environment import DatabaseConfig
from deploy.db import lock
spec = json.loads(os.environ["LOCK_SPEC"])
config = DatabaseConfig(**spec["config"])
with lock.acquire(config, Path(spec["root"]), "alice@ci", "deploy.phase1", environment="staging"):
    print("LOCKED", flush=True)
    sys.stdin.read()                     # held until killed (or its stdin closes): no clock involved
"""


def spawn_holder(config, root) -> subprocess.Popen:
    spec = {"config": {k: (v.reveal() if hasattr(v, "reveal") else v)
                       for k, v in config.model_dump(exclude={"backups"}).items() if v is not None},
            "root": str(root)}
    # the connection string travels in the environment, never on a command line
    env = {**os.environ, "LOCK_SPEC": json.dumps(spec), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    if line.strip() != "LOCKED":
        proc.kill()
        raise AssertionError(f"holder did not lock: {line!r} {proc.stderr.read()}")
    return proc


def test_second_holder_is_refused_naming_the_first(db_target):
    config, root = db_target
    with lock.acquire(config, root, "alice@ci", "deploy.phase1", environment="staging") as held:
        assert held.holder == "alice@ci"
        told: list[str] = []
        with pytest.raises(LockHeld) as err:
            with lock.acquire(config, root, "bob@laptop", "deploy.phase2", environment="staging",
                              on_wait=told.append):
                pytest.fail("two holders at once")
        assert told == []                              # refused at the first try, no waiting
        message = str(err.value)
        assert message.startswith("locked by alice@ci since ") and message.endswith("Z (task deploy.phase1)")
        assert err.value.exit_code == 3
    # released: the next one gets it at once
    with lock.acquire(config, root, "bob@laptop", "deploy.phase2", environment="staging") as held:
        assert held.task == "deploy.phase2"


def test_waiting_holder_gets_the_lock_when_it_is_released(db_target, monkeypatch):
    """A barrier, not a sleep: the first holder lets go only after the second has tried the lock
    twice and been refused (so it is polling, not gone ahead), and the second gets in only after."""
    import threading

    config, root = db_target
    held, polling, bob_in = threading.Event(), threading.Event(), threading.Event()
    refusals: list[int] = []
    released_at: list[float] = []
    errors: list[BaseException] = []
    told: list[str] = []
    real_until = lock._until

    def watched_until(attempt, wait_seconds, refuse, on_wait=None):
        def watched():
            got = attempt()
            if not got:
                refusals.append(1)
                if len(refusals) >= 2:
                    polling.set()
            return got
        return real_until(watched, wait_seconds, refuse, on_wait)

    monkeypatch.setattr(lock, "_until", watched_until)

    def first():
        try:
            with lock.acquire(config, root, "alice", "deploy.phase1"):
                held.set()
                if not polling.wait(30):
                    raise AssertionError("the second holder did not keep polling the held lock")
                if bob_in.is_set():
                    raise AssertionError("the second holder got in while the first held the lock")
                released_at.append(time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread below
            errors.append(exc)
            held.set()

    t = threading.Thread(target=first)
    t.start()
    assert held.wait(60) and not errors, errors
    with lock.acquire(config, root, "bob", "deploy.phase2", wait_seconds=60, on_wait=told.append) as held_by:
        bob_in.set()
        got_at = time.monotonic()
        assert held_by.holder == "bob"
    t.join(60)
    assert not t.is_alive() and errors == []
    assert released_at and got_at >= released_at[0]                 # it waited for the release
    assert len(told) == 1 and told[0].startswith("locked by alice since "), told


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

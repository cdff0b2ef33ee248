"""Progress for a long wait through the real command line: on a terminal (a pty) the lock wait
shows a live status with the time elapsed and left; through a pipe (a CI log) and with --json,
nothing extra is printed. The wait is made long by a real lock holder, released by the test only
after the task has said it is waiting - never a race against the clock."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.support.envs import APP_ENV, REPO, make_root
from tests.support.lock_barrier import LockHolder, Waiter, cli_env

pytestmark = pytest.mark.integration
HIDE_CURSOR = "\x1b[?25l"     # what rich's live display writes first


@pytest.fixture
def root(tmp_path) -> Path:
    db_file = tmp_path / "market.db"
    sqlite3.connect(db_file).close()
    root = make_root(tmp_path / "project", "t", {
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": {"dialect": "sqlite", "path": str(db_file), "backups": {"dir": str(tmp_path / "backups")}},
        "env": dict(APP_ENV),
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": "app", "start": "true",
                         "port": 3997}},
    })
    (root / "app").mkdir()
    return root


class PtyRun:
    """`invoke ARGS` with stdout and stderr on a pseudo-terminal (as in a person's shell)."""

    def __init__(self, root: Path, *args: str):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        env = cli_env(root, {"TERM": "xterm-256color"})
        env.pop("CI", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env,
                                     stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        self.output = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:          # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk.decode(errors="replace")
        return True

    def wait_for(self, *texts: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not all(t in self.output for t in texts):
            assert time.monotonic() < deadline, f"no {texts} within {timeout}s: {self.output[-3000:]!r}"
            assert self._read(0.2), f"the command ended without {texts}: {self.output[-3000:]!r}"

    def finish(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.2):
            assert time.monotonic() < deadline, self.output[-3000:]
        code = self.proc.wait(timeout=30)
        os.close(self.master)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_lock_wait_shows_progress_on_a_terminal(root):
    with LockHolder(root) as holder:
        run = PtyRun(root, "db.backup", "--env", "t", "--lock-wait", "10m")
        try:
            # the warning line, then (a second later) the live status with elapsed and time left
            run.wait_for("waiting up to 600s", "waiting for the deploy lock (locked by alice@laptop", "elapsed, ")
            assert HIDE_CURSOR in run.output
            assert any(f"9:{s:02d} left" in run.output for s in range(60)), run.output[-2000:]
            holder.release()
            code = run.finish()
        finally:
            run.kill()
    assert code == 0, run.output[-3000:]
    assert ", verified)" in run.output


def test_no_progress_in_a_pipe_or_with_json(root):
    with LockHolder(root) as holder:
        waiter = Waiter(root, "db.backup", "--env", "t", "--lock-wait", "10m")
        try:
            waiter.wait_for("waiting up to 600s")
            assert waiter.still_running_after(2.5)   # a wait long enough that a terminal would show it
            holder.release()
            proc = waiter.finish()
        finally:
            waiter.kill()
    assert proc.returncode == 0, proc.stderr
    assert "elapsed" not in proc.stdout + proc.stderr and "\x1b" not in proc.stdout + proc.stderr
    assert ", verified)" in proc.stdout

    with LockHolder(root) as holder:       # --json on a terminal: the summary, nothing else on stdout
        run = PtyRun(root, "db.backup", "--env", "t", "--lock-wait", "10m", "--json")
        try:
            run.wait_for("waiting up to 600s")
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                run._read(0.2)
            holder.release()
            code = run.finish()
        finally:
            run.kill()
    assert code == 0, run.output[-3000:]
    assert "elapsed" not in run.output and HIDE_CURSOR not in run.output
    document = run.output[run.output.index("{"):].replace("\r\n", "\n")
    assert json.loads(document)["ok"] is True

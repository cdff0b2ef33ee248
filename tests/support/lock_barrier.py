"""Deploy-lock tests without a race against the clock.

A LockHolder takes the deploy lock in its own process and keeps it until the test releases it
(by closing the holder's stdin) - not for N seconds, so a slow CLI start on a loaded machine
cannot let the lock go before the second command reaches it. A Waiter runs `invoke` in the
background and reads its stderr as it comes, so a test can wait for "waiting up to ..." (the
task found the lock held and is polling), release the holder, and then see the task finish.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from tests.support.envs import REPO

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from deploy.config import environment as config
    from deploy.db import lock
    root, environment, holder, task = sys.argv[1:5]
    env = config.load(environment, root=Path(root))
    with lock.acquire(env.database, Path(env.root), holder, task, environment=environment):
        print("held", flush=True)
        sys.stdin.read()                      # until the test closes our stdin
    print("released", flush=True)
""")


def cli_env(root: Path, extra_env: dict | None = None) -> dict[str, str]:
    """The environment the tests' `invoke` helpers give the CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", **(extra_env or {})})
    return env


class LockHolder:
    """`with LockHolder(root, extra_env) as holder:` - the lock is held inside; holder.release()."""

    def __init__(self, root: Path, extra_env: dict | None = None, *, environment: str = "t",
                 holder: str = "alice@laptop", task: str = "deploy.phase2"):
        self.argv = [sys.executable, "-c", HOLDER, str(root), environment, holder, task]
        self.env = cli_env(root, extra_env)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "LockHolder":
        self.proc = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "held":
            self.proc.kill()
            raise AssertionError(f"the lock holder did not take the lock: {line!r} {self.proc.stderr.read()}")
        return self

    def release(self) -> float:
        """Let the lock go; returns the monotonic time just before the release was signalled."""
        released_at = time.monotonic()
        self.proc.stdin.close()
        line = self.proc.stdout.readline()
        assert line.strip() == "released", (line, self.proc.stderr.read())
        assert self.proc.wait(30) == 0
        return released_at

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Waiter:
    """`invoke ARGS` started in the background; its stderr read line by line as it is written."""

    def __init__(self, root: Path, *args: str, extra_env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=REPO,
                                     env=cli_env(root, extra_env), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err_lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self.stdout = ""
        self._readers = [threading.Thread(target=self._read_err, daemon=True),
                         threading.Thread(target=self._read_out, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.err_lines.put(line)
        self.err_lines.put(None)

    def _read_out(self) -> None:
        self.stdout = self.proc.stdout.read()

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """Block until a stderr line contains text; fail if the command ends or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.err_lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} on stderr within {timeout}s: {''.join(self.stderr)}") from None
            if line is None:
                self.proc.wait()
                raise AssertionError(f"the command ended (exit {self.proc.returncode}) without printing {text!r}: "
                                     f"{''.join(self.stderr)}{self.stdout}")
            if text in line:
                return line

    def running(self) -> bool:
        return self.proc.poll() is None

    def still_running_after(self, seconds: float) -> bool:
        """True when the command has not ended within `seconds`. One-sided: a slow machine can
        only make a broken waiter look patient, never a patient one look broken."""
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return True
        return False

    def finish(self, timeout: float = 120) -> subprocess.CompletedProcess:
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return subprocess.CompletedProcess(self.proc.args, code, self.stdout, "".join(self.stderr))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

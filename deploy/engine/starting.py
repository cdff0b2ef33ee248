"""A restart whose health gate begins at the spawn, not after the process manager's own wait.

supervisord calls a program RUNNING only once it stayed up startsecs (1 s); supervisor_rpc.py's
`restart` waits for that, and says "NAME: spawned" (stderr) as soon as supervisord forked the
program. `begin` runs that restart in the background on its own channel (Host.stream) and returns
at the spawn; the HTTP gate then polls the booting app while supervisord still counts startsecs,
with `Starting.sleep` as its pause - a start supervisord calls failed (spawn error, exited)
ends the gate at once with supervisord's reason - and `Starting.confirm` after the gate waits for
the restart's own verdict: a host passes only when its gate passed AND supervisord said RUNNING.

A manager that does not announce the spawn (pm2, systemd) is restarted as before: the command
runs to its end, then the gate.
"""

from __future__ import annotations

import threading
import time

from deploy.errors import StepFailed
from deploy.hosts.fleet import CommandFailed, Host, Result
from deploy.releases.steps import Exec, apply

SPAWNED = ": spawned"
DEADLINE = 300.0     # seconds the restart may take in all (supervisor_rpc.py gives up after 120)


class Starting:
    """One restart command running in the background: its lines, its spawn, its exit code."""

    def __init__(self, host: Host, step: Exec):
        self.host, self.step = host, step
        self.lines: list[str] = []
        self.spawned = threading.Event()
        self.done = threading.Event()
        self.cancel = threading.Event()
        self.code: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"restart-{host.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            # no pty: a deploy killed meanwhile does not hang up the restart (it ends as `run`'s would)
            self.code = self.host.stream(self.step.command, self._line, stop=self.cancel, pty=False)
        except BaseException as exc:   # handed to the caller's thread by failure()
            self.error = exc
        finally:
            self.done.set()
            self.spawned.set()

    def _line(self, line: str) -> None:
        self.lines.append(line)
        if line.strip().endswith(SPAWNED):
            self.spawned.set()

    def failure(self) -> BaseException | None:
        """Why the restart failed, once it ended (None while it runs, or when it succeeded)."""
        if not self.done.is_set():
            return None
        if self.error is not None:
            return self.error
        if self.code != 0:
            said = "\n".join(line for line in self.lines if not line.strip().endswith(SPAWNED))
            return CommandFailed(self.host.name, Result(str(self.step.command), "", said,
                                                        -1 if self.code is None else self.code))
        return None

    def wait_spawned(self) -> None:
        """Until the program was spawned (or the restart ended); its failure raises."""
        if not self.spawned.wait(DEADLINE):
            self.cancel.set()
            raise StepFailed(f"{self.host.name}: `{self.step.command}` did not start within {DEADLINE:g}s")
        self._raise()

    def sleep(self, seconds: float) -> None:
        """The gate's pause between polls; a restart that failed meanwhile raises at once."""
        started = time.monotonic()
        if self.done.wait(seconds):
            self._raise()
            rest = seconds - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)

    def confirm(self) -> None:
        """After the gate: the restart's own verdict (supervisord: RUNNING after startsecs)."""
        if not self.done.wait(DEADLINE):
            self.cancel.set()
            raise StepFailed(f"{self.host.name}: `{self.step.command}` did not end within {DEADLINE:g}s")
        self._raise()

    def _raise(self) -> None:
        failed = self.failure()
        if failed is not None:
            raise failed


def begin(host: Host, manager, steps: list, timeout: float | None = None) -> Starting | None:
    """Apply a restart's steps; when the manager announces the spawn (a single restart Exec) and
    the host streams, return at the spawn with the restart still running (the caller gates,
    then confirms)."""
    if (getattr(manager, "announces_spawn", False) and len(steps) == 1 and isinstance(steps[0], Exec)
            and callable(getattr(host, "stream", None))):
        starting = Starting(host, steps[0])
        starting.wait_spawned()
        return starting
    apply(host, steps, timeout=timeout)
    return None


def pause(starting: Starting | None) -> dict:
    """The gate's keyword for its pause between polls: Starting.sleep while a restart runs beside
    it, else nothing (the gate's own time.sleep)."""
    return {"sleep": starting.sleep} if starting is not None else {}


def confirm(starting: Starting | None) -> None:
    if starting is not None:
        starting.confirm()

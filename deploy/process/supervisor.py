"""supervisord through supervisorctl."""

from __future__ import annotations

import re

from deploy.commands.shell import Command, cmd
from deploy.process.base import ProcessManager, ProcessState

_LINE = re.compile(r"^(?P<name>\S+)\s+(?P<state>[A-Z]+)\s*(?P<rest>.*)$")
_PID = re.compile(r"pid (\d+), uptime ([\d:]+(?: days?, [\d:]+)?)")
_STATES = {"RUNNING": "running", "STOPPED": "stopped", "STARTING": "starting", "BACKOFF": "starting",
           "STOPPING": "stopped", "EXITED": "stopped", "FATAL": "fatal", "UNKNOWN": "unknown"}


class Supervisor(ProcessManager):
    name = "supervisor"
    binary = "supervisorctl"

    def __init__(self, conf: str):
        self.conf = conf

    def ctl(self, *args: str) -> Command:
        return cmd(self.binary, "-c", self.conf, *args)

    def status_command(self, processes: list[str]) -> Command:
        return self.ctl("status")

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        # supervisorctl exits 3 when a program is not running and 4 when it cannot reach
        # supervisord; the text tells which, so parse it rather than trust the code.
        states: dict[str, ProcessState] = {}
        for line in stdout.splitlines():
            if "refused connection" in line or "no such file" in line or "SHUTDOWN_STATE" in line:
                return {}
            match = _LINE.match(line.strip())
            if not match or match.group("state") not in _STATES:
                continue
            name = match.group("name").split(":")[-1]  # group:name -> name
            rest = match.group("rest")
            pid_match = _PID.search(rest)
            states[name] = ProcessState(
                name=name, state=_STATES[match.group("state")],
                pid=int(pid_match.group(1)) if pid_match else None,
                uptime=pid_match.group(2) if pid_match else None,
                detail="" if pid_match else rest.strip(),
            )
        return states

    def daemon_down(self, stdout: str) -> bool:
        return any(s in stdout for s in ("refused connection", "no such file", "SHUTDOWN_STATE"))

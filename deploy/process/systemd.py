"""systemd units through systemctl (builders and parser; no systemd on the test machines)."""

from __future__ import annotations

from deploy.commands.shell import Command, cmd
from deploy.process.base import ProcessManager, ProcessState

_STATES = {"active": "running", "inactive": "stopped", "failed": "fatal", "activating": "starting",
           "deactivating": "stopped", "reloading": "running"}


class Systemd(ProcessManager):
    name = "systemd"
    binary = "systemctl"

    def status_command(self, processes: list[str]) -> Command:
        names = [f"{u}.service" if "." not in u else u for u in processes]
        return cmd("systemctl", "show", "--property=Id,ActiveState,SubState,MainPID", *names)

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        states: dict[str, ProcessState] = {}
        for block in stdout.strip().split("\n\n"):
            props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if "Id" not in props:
                continue
            name = props["Id"].removesuffix(".service")
            pid = int(props.get("MainPID", "0") or 0)
            states[name] = ProcessState(name=name, state=_STATES.get(props.get("ActiveState", ""), "unknown"),
                                        pid=pid or None, detail=props.get("SubState", ""))
        return states

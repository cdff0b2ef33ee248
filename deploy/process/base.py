"""The interface every process-manager adapter offers."""

from __future__ import annotations

from dataclasses import dataclass

from deploy.commands.shell import Command


@dataclass(frozen=True)
class ProcessState:
    name: str
    state: str            # running | stopped | starting | fatal | errored | absent | unknown
    pid: int | None = None
    uptime: str | None = None
    detail: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"


class ProcessManager:
    name: str
    binary: str

    def status_command(self, processes: list[str]) -> Command:
        raise NotImplementedError

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        """Parse the status command's output into states by process name."""
        raise NotImplementedError

    def state_of(self, states: dict[str, ProcessState], process: str) -> ProcessState:
        return states.get(process, ProcessState(process, "absent", detail="not configured"))

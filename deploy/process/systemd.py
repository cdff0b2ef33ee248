"""systemd units through systemctl (builders and parser; no systemd on the test machines)."""

from __future__ import annotations

from deploy.commands.shell import Command, cmd
from deploy.process.base import ConfigFile, ProcessManager, ProcessState, Program
from deploy.process.templates import render

_STATES = {"active": "running", "inactive": "stopped", "failed": "fatal", "activating": "starting",
           "deactivating": "stopped", "reloading": "running"}
UNIT_DIR = "/etc/systemd/system"


class Systemd(ProcessManager):
    name = "systemd"
    binary = "systemctl"
    stopwaitsecs = 10

    def status_command(self, processes: list[str]) -> Command:
        names = [unit_name(u) for u in processes]
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

    # -- change ----------------------------------------------------------------------------------
    def unit_file(self, program: Program) -> str:
        return f"{UNIT_DIR}/{unit_name(program.process)}"

    def config_files(self, program: Program) -> list[ConfigFile]:
        text = render("systemd.service.j2", program.root, process=program.process, app=program.app,
                      directory=program.directory, command=program.command, log_dir=program.log_dir,
                      stopwaitsecs=self.stopwaitsecs)
        return [ConfigFile(self.unit_file(program), text, 0o644, f"unit {unit_name(program.process)}")]

    def restart_commands(self, program: Program) -> list[Command]:
        unit = unit_name(program.process)
        return [
            cmd("systemctl", "daemon-reload"),
            cmd("systemctl", "enable", "--quiet", unit),
            cmd("systemctl", "restart", unit),
        ]

    def stop_command(self, program: Program) -> Command:
        return cmd("systemctl", "stop", unit_name(program.process))

    # -- logs ------------------------------------------------------------------------------------
    # The journal of the unit. templates/systemd.service.j2 appends the program's output to
    # files (StandardOutput=append:...), so the journal holds what systemd says about the unit
    # (starts, stops, failures); a unit without those lines logs its output here as well.
    def log_command(self, program: Program, lines: int, follow: bool = False) -> Command:
        args = ["journalctl", "-u", unit_name(program.process), "-n", str(lines), "--no-pager",
                "-o", "short-iso"]    # the year and UTC offset in each line's stamp (logs --since)
        return cmd(*args, "-f") if follow else cmd(*args)

    def log_noise(self, line: str) -> bool:
        text = line.strip()
        return not text or text in ("-- No entries --",) or text.startswith("-- Logs begin at ")


def unit_name(process: str) -> str:
    return process if "." in process else f"{process}.service"

"""supervisord: one supervisord per host, one program file per app.

The daemon's files live beside its config (`supervisor_conf`, by default
<deploy_to>/supervisor/supervisord.conf): the unix socket, pidfile, log, and programs/*.conf.
Restart, stop and status talk to supervisord's XML-RPC over that socket from one short stdlib-only
process (deploy/process/supervisor_rpc.py, run by the python3 beside supervisord: `bin_dir`, else
the PATH's: ~0.08 s of CPU where supervisorctl, importing supervisor, takes ~0.15), and so do
logs (what `supervisorctl tail` reads). supervisorctl stays the operator's console beside it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from functools import lru_cache
from pathlib import Path

from deploy.commands.shell import OR, Command, Op, Script, cmd
from deploy.process.base import ConfigFile, ProcessManager, ProcessState, Program
from deploy.process.templates import render

_PID = re.compile(r"pid (\d+), uptime ([\d:]+(?: days?, [\d:]+)?)")
_STATES = {"RUNNING": "running", "STOPPED": "stopped", "STARTING": "starting", "BACKOFF": "starting",
           "STOPPING": "stopped", "EXITED": "stopped", "FATAL": "fatal", "UNKNOWN": "unknown"}
QUIET = Op(">/dev/null 2>&1")


MAX_SOCKET_PATH = 100   # sun_path holds 108 bytes; keep a margin
LOG_LINE_BYTES = 1024   # bytes of each log asked of supervisord per wanted line
LOG_SEPARATOR = "@@deploy-logs-stderr@@"


@lru_cache(maxsize=1)
def rpc_source() -> str:
    return (Path(__file__).parent / "supervisor_rpc.py").read_text(encoding="utf-8")


class Supervisor(ProcessManager):
    name = "supervisor"

    # startsecs: RUNNING only after a second up, so a start command that fails at once makes
    # `restart` fail (spawn error) instead of looking fine until the health gate times out.
    # (startsecs=0 would not: a process that exits goes RUNNING -> EXITED and autorestart=true
    # spawns it again, for ever - it never reaches BACKOFF or FATAL; bench/README.md.)
    startsecs = 1
    startretries = 1
    stopwaitsecs = 10
    announces_spawn = True   # supervisor_rpc.py's restart: "NAME: spawned", then RUNNING or why not

    def __init__(self, conf: str, bin_dir: str | None = None):
        self.conf = conf
        self.bin_dir = bin_dir
        # What the commands run on a host (preflight checks both are there): supervisord, started by a
        # restart when it does not answer, and python3 for supervisor_rpc.py (restart, stop, status,
        # logs). supervisorctl is not run: it stays the operator's console (`ctl`).
        self.binary = self._bin("supervisord")
        self.helpers = (self._bin("python3"),)

    def _bin(self, name: str) -> str:
        return posixpath.join(self.bin_dir, name) if self.bin_dir else name

    # -- where the daemon keeps its files --------------------------------------------------------
    @property
    def conf_dir(self) -> str:
        return posixpath.dirname(self.conf) or "."

    @property
    def programs_dir(self) -> str:
        return posixpath.join(self.conf_dir, "programs")

    @property
    def socket(self) -> str:
        """Beside the config, unless that path is longer than a unix socket may be (108 bytes,
        e.g. a deep checkout for `local`): then a short name in /tmp derived from the config."""
        beside = posixpath.join(self.conf_dir, "supervisor.sock")
        if len(beside.encode()) <= MAX_SOCKET_PATH:
            return beside
        digest = hashlib.sha256(self.conf_dir.encode()).hexdigest()[:16]
        return f"/tmp/deploy-supervisor-{digest}.sock"

    def program_file(self, process: str) -> str:
        return posixpath.join(self.programs_dir, f"{process}.conf")

    # -- observe ---------------------------------------------------------------------------------
    def ctl(self, *args: str) -> Command:
        """supervisorctl against this daemon (the operator's console; the pipeline itself does not run it)."""
        return cmd(self._bin("supervisorctl"), "-c", self.conf, *args)

    def status_command(self, processes: list[str]) -> Command:
        """Every program supervisord runs (supervisor_rpc.py status: one question over the socket)."""
        return self.rpc("status", self.conf, self.socket)

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        """supervisor_rpc.py status's lines (NAME, STATE, PID, DESCRIPTION by tabs) by program name
        (group:name -> name); {} when supervisord did not answer (exit 2: not running; exit 1:
        e.g. shutting down) - what else the streams hold is its words on stderr."""
        states: dict[str, ProcessState] = {}
        if exit_code != 0:
            return states
        for line in stdout.splitlines():
            fields = line.split("\t", 3)
            if len(fields) != 4 or fields[1] not in _STATES or not fields[2].isdigit():
                continue
            name, state, pid, description = fields
            name = name.split(":")[-1]
            pid_match = _PID.search(description) if pid != "0" else None
            states[name] = ProcessState(
                name=name, state=_STATES[state], pid=int(pid) if pid != "0" else None,
                uptime=pid_match.group(2) if pid_match else None,
                detail="" if pid_match else description.strip(),
            )
        return states

    # -- change ----------------------------------------------------------------------------------
    def directories(self, program: Program) -> list[str]:
        return [self.programs_dir, program.log_dir]

    def config_files(self, program: Program) -> list[ConfigFile]:
        daemon = render("supervisord.conf.j2", program.root, socket=self.socket, conf_dir=self.conf_dir,
                        pidfile=posixpath.join(self.conf_dir, "supervisord.pid"),
                        logfile=posixpath.join(self.conf_dir, "supervisord.log"),
                        programs_dir=self.programs_dir)
        unit = render("supervisor-program.conf.j2", program.root, process=program.process,
                      command=program.command, directory=program.directory, log_dir=program.log_dir,
                      startsecs=self.startsecs, startretries=self.startretries,
                      stopwaitsecs=self.stopwaitsecs)
        return [ConfigFile(self.conf, daemon, 0o644, "supervisord config"),
                ConfigFile(self.program_file(program.process), unit, 0o644, f"program {program.process}")]

    def rpc(self, action: str, *args: str) -> Command:
        """deploy/process/supervisor_rpc.py on the host: one python3, no supervisor import."""
        return cmd(self._bin("python3"), "-I", "-S", "-c", Script("supervisor_rpc.py", rpc_source()),
                   action, *args)

    def restart_commands(self, program: Program) -> list[Command]:
        """supervisord started unless it answers, its config loaded (`supervisorctl update`),
        the program stopped, started and waited for through startsecs - in one process."""
        return [self.rpc("restart", program.process, self.conf, self.socket, self.binary)]

    def stop_command(self, program: Program) -> Command:
        return self.rpc("stop", program.process, self.conf, self.socket)

    # -- logs ------------------------------------------------------------------------------------
    # supervisord's log reads (readProcessStdoutLog, as `supervisorctl tail -N`) count bytes, not
    # lines: ask for enough bytes for N lines of each stream and keep the last N lines here.
    # `supervisorctl tail -f` starts at a fixed last 1 KB per stream (a cut first line; no
    # --lines), so following reads the files supervisord writes (the program file names them)
    # with `tail -F`, which also survives supervisord's rotation.
    def log_command(self, program: Program, lines: int, follow: bool = False) -> Command:
        if follow:
            return self.follow_files_command(program, lines)
        return self.rpc("tail", program.process, self.conf, self.socket, lines * LOG_LINE_BYTES, LOG_SEPARATOR)

    def log_lines(self, output: str, lines: int) -> list[str]:
        kept: list[str] = []
        for section in output.split(LOG_SEPARATOR + "\n"):
            text = section.removesuffix("\n")   # supervisor_rpc.py ends each log with a newline
            found = text.splitlines()
            if found and len(text.encode()) >= lines * LOG_LINE_BYTES:
                found = found[1:]   # the byte window cut the first line
            kept += [line for line in found if not self.log_noise(line)][-lines:]
        return kept

    def log_error(self, program: Program, output: str, exit_code: int) -> str | None:
        if exit_code == 2 or "SHUTDOWN_STATE" in output:
            return f"supervisord is not running ({self.conf})"
        for line in output.splitlines():
            if "ERROR (" in line:
                return f"supervisord: {line.strip()}"
        return super().log_error(program, output, exit_code)

"""The interface every process-manager adapter offers.

Observe: `status_command` + the pure `parse_status`. Change: `config_files` (rendered from
templates/), `restart_commands` (load that config and (re)start the program from `current`),
`stop_command`. Logs: `log_command` + the pure `log_lines` / `log_noise` / `log_error`.
All builders are pure; hosts run what they return.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from deploy.commands.shell import Command, cmd


@dataclass(frozen=True)
class ProcessState:
    name: str
    state: str            # running | stopped | starting | fatal | errored | absent | unknown
    pid: int | None = None
    uptime: str | None = None
    detail: str = ""
    workers: int = 1       # processes the manager runs for it (a pm2 cluster: its instances)
    online: int | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class Program:
    """One app as a process manager runs it, on one host."""

    app: str               # the app's key in the environment (api, web)
    process: str           # the process manager's name for it (marketplace-api)
    command: str           # the start command line, {env_file} filled in
    directory: str         # <deploy_to>/<app>/current: always the live release
    env_file: str          # <deploy_to>/<app>/shared/<app>.env
    log_dir: str           # <deploy_to>/<app>/shared/logs
    shared_dir: str        # <deploy_to>/<app>/shared
    root: str | None = None  # the project root (its templates/ may override the shipped ones)
    out_file: str | None = None    # configured log files (relative: under log_dir)
    error_file: str | None = None
    pm2: Any = None          # deploy.config.environment.Pm2App: how pm2 runs it (instances, exec_mode, ...)

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)

    def log_file(self, stream: str) -> str:
        """Where the templates send the program's output: the configured file, else
        <log_dir>/<process>.out.log / .err.log."""
        given = self.out_file if stream == "out" else self.error_file
        if given:
            return given if given.startswith("/") else f"{self.log_dir}/{given}"
        return f"{self.log_dir}/{self.process}.{stream}.log"


@dataclass(frozen=True)
class ConfigFile:
    """A file a process manager needs on the host: rendered text, remote path, mode."""

    path: str
    text: str = field(repr=False)
    mode: int = 0o644
    what: str = ""


class ProcessManager:
    name: str
    binary: str
    helpers: tuple[str, ...] = ()   # other programs its commands run on the host (preflight checks them)
    # its restart says "<process>: spawned" once the program was forked, then waits until the
    # manager calls it up: the health gate may begin at the spawn (deploy.engine.starting)
    announces_spawn: bool = False

    # -- observe ---------------------------------------------------------------------------------
    def status_command(self, processes: list[str]) -> Command:
        raise NotImplementedError

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        """Parse the status command's output into states by process name."""
        raise NotImplementedError

    def state_of(self, states: dict[str, ProcessState], process: str) -> ProcessState:
        return states.get(process, ProcessState(process, "absent", detail="not configured"))

    # -- change ----------------------------------------------------------------------------------
    def directories(self, program: Program) -> list[str]:
        """Folders the config files and logs go into (created before the files are written)."""
        return [program.log_dir]

    def config_files(self, program: Program) -> list[ConfigFile]:
        raise NotImplementedError

    def restart_commands(self, program: Program) -> list[Command]:
        """Load the config files and (re)start the program, in order."""
        raise NotImplementedError

    def stop_command(self, program: Program) -> Command:
        raise NotImplementedError

    # -- logs ------------------------------------------------------------------------------------
    def log_command(self, program: Program, lines: int, follow: bool = False) -> Command:
        """The program's last `lines` lines of output (of each stream it keeps: out, err); with
        `follow`, then every new line as it comes, until the command is ended."""
        raise NotImplementedError

    @staticmethod
    def follow_files_command(program: Program, lines: int) -> Command:
        """The last `lines` lines of each file the program writes, then each new line: `tail -F`
        (one process from the first line to the last, so no line falls between the two; it also
        survives the manager's log rotation)."""
        return cmd("tail", "-q", "-n", str(lines), "-F", program.log_file("out"), program.log_file("err"))

    def log_noise(self, line: str) -> bool:
        """A line the manager prints around the program's own lines (headers, blank lines)."""
        return not line.strip()

    def log_lines(self, output: str, lines: int) -> list[str]:
        """The program's own lines in the output of `log_command(..., follow=False)`."""
        return [line for line in output.splitlines() if not self.log_noise(line)]

    def log_error(self, program: Program, output: str, exit_code: int) -> str | None:
        """Why the output of `log_command` holds no logs (manager down, unknown program), or None."""
        if exit_code == 0:
            return None
        said = [line.strip() for line in output.splitlines() if line.strip()]
        return f"{self.name}: {said[-1] if said else f'exited {exit_code}'}"

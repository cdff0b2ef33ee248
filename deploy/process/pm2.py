"""pm2 through an ecosystem file and `pm2 jlist` (parsed defensively: pm2 may print text,
such as its banner on first start, before the JSON). PM2_HOME is per host from the config, so
each host has its own daemon."""

from __future__ import annotations

import json
import posixpath
import re
import time

from deploy.commands.shell import Command, cmd
from deploy.process.base import ConfigFile, ProcessManager, ProcessState, Program
from deploy.process.templates import render

_STATES = {"online": "running", "stopped": "stopped", "stopping": "stopped", "launching": "starting",
           "errored": "errored", "one-launch-status": "stopped"}
_LOG_HEADER = re.compile(r"^\S.* last \d+ lines:$")   # "/path/x.out.log last 100 lines:"


class Pm2(ProcessManager):
    name = "pm2"
    stop_timeout_ms = 10_000

    def __init__(self, binary: str = "pm2", home: str | None = None):
        self.binary = binary
        self.home = home

    def pm2(self, *args: str) -> Command:
        prefix = ("env", f"PM2_HOME={self.home}") if self.home else ()
        return cmd(*prefix, self.binary, *args)

    def status_command(self, processes: list[str]) -> Command:
        return self.pm2("jlist")

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        data = extract_json_array(stdout)
        states: dict[str, ProcessState] = {}
        now_ms = time.time() * 1000
        for proc in data:
            if not isinstance(proc, dict) or "name" not in proc:
                continue
            env = proc.get("pm2_env") or {}
            status = str(env.get("status", "unknown"))
            uptime_ms = env.get("pm_uptime")
            uptime = None
            if status == "online" and isinstance(uptime_ms, (int, float)):
                uptime = _format_seconds((now_ms - uptime_ms) / 1000)
            states[proc["name"]] = ProcessState(
                name=proc["name"], state=_STATES.get(status, "unknown"),
                pid=proc.get("pid") or None, uptime=uptime,
                detail=f"restarts={env.get('restart_time', 0)}",
            )
        return states

    # -- change ----------------------------------------------------------------------------------
    def ecosystem_file(self, program: Program) -> str:
        return posixpath.join(program.shared_dir, f"ecosystem.{program.process}.json")

    def config_files(self, program: Program) -> list[ConfigFile]:
        argv = program.argv
        text = render("pm2-ecosystem.json.j2", program.root, process=program.process, script=argv[0],
                      args=argv[1:], directory=program.directory, log_dir=program.log_dir,
                      stop_timeout_ms=self.stop_timeout_ms)
        return [ConfigFile(self.ecosystem_file(program), text, 0o644, f"pm2 ecosystem {program.process}")]

    def restart_commands(self, program: Program) -> list[Command]:
        # startOrReload starts the app the first time and restarts it (fork mode) afterwards;
        # the daemon is spawned by the first pm2 command when it is not running.
        return [self.pm2("startOrReload", self.ecosystem_file(program), "--update-env")]

    def stop_command(self, program: Program) -> Command:
        return self.pm2("delete", program.process)

    # -- logs ------------------------------------------------------------------------------------
    # The runbook's `pm2 logs marketplace-api --lines 100`; --raw leaves the program's lines as it
    # wrote them (no "0|name |" prefix, no colours), out then err.
    def log_command(self, program: Program, lines: int, follow: bool = False) -> Command:
        args = ["logs", program.process, "--lines", str(lines), "--raw"]
        return self.pm2(*args) if follow else self.pm2(*args, "--nostream")

    def log_noise(self, line: str) -> bool:
        text = line.strip()
        return not text or text.startswith(("[TAILING]", "[PM2]")) or bool(_LOG_HEADER.match(text))

    def log_error(self, program: Program, output: str, exit_code: int) -> str | None:
        if exit_code != 0:
            return super().log_error(program, output, exit_code)
        # pm2 answers 0 for a name it does not know: it prints its banner and no file header
        if not any(_LOG_HEADER.match(line.strip()) for line in output.splitlines()):
            return f"pm2 has no logs for {program.process} (not started by pm2 on this host)"
        return None


def extract_json_array(text: str) -> list:
    """The JSON array in pm2's output, ignoring banners or warnings printed before it."""
    start = text.find("[")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
            if isinstance(value, list):
                return value
        except json.JSONDecodeError:
            pass
        start = text.find("[", start + 1)
    return []


def _format_seconds(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"

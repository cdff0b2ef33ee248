"""pm2 through an ecosystem file and `pm2 jlist` (parsed defensively: pm2 may print text,
such as its banner on first start, before the JSON). PM2_HOME is per host from the config, so
each host has its own daemon."""

from __future__ import annotations

import json
import posixpath
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from deploy.commands.shell import OR, SEMI, Command, Op, Script, chain, cmd
from deploy.config.environment import Pm2App
from deploy.process.base import ConfigFile, ProcessManager, ProcessState, Program
from deploy.process.templates import render

_STATES = {"online": "running", "stopped": "stopped", "stopping": "stopped", "launching": "starting",
           "errored": "errored", "one-launch-status": "stopped"}
_LOG_HEADER = re.compile(r"^\S.* last \d+ lines:$")   # "/path/x.out.log last 100 lines:"


class Pm2(ProcessManager):
    name = "pm2"
    stop_timeout_ms = 10_000
    listen_timeout_ms = 8_000   # cluster reload: a new worker that does not listen by then counts as up

    def __init__(self, binary: str = "pm2", home: str | None = None):
        self.binary = binary
        self.home = home

    def pm2(self, *args: str) -> Command:
        prefix = ("env", f"PM2_HOME={self.home}") if self.home else ()
        return cmd(*prefix, self.binary, *args)

    def status_command(self, processes: list[str]) -> Command:
        return self.pm2("jlist")

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        """One state per app; a cluster's workers are summed up: running only when every worker
        is online, detail "4/4 online"."""
        states: dict[str, ProcessState] = {}
        now_ms = time.time() * 1000
        by_name: dict[str, list[Worker]] = {}
        for worker in parse_workers(stdout):
            by_name.setdefault(worker.name, []).append(worker)
        for name, workers in by_name.items():
            online = [w for w in workers if w.status == "online"]
            first = online[0] if online else workers[0]
            uptime = None
            if first.status == "online" and first.started_ms is not None:
                uptime = _format_seconds((now_ms - first.started_ms) / 1000)
            restarts = sum(w.restarts for w in workers)
            detail = f"restarts={restarts}"
            if len(workers) > 1 or first.exec_mode == "cluster":
                detail = f"{len(online)}/{len(workers)} online, {first.exec_mode}, {detail}"
            states[name] = ProcessState(name=name, state=_overall(workers), pid=first.pid, uptime=uptime,
                                        detail=detail, workers=len(workers), online=len(online))
        return states

    # -- change ----------------------------------------------------------------------------------
    def ecosystem_file(self, program: Program) -> str:
        return posixpath.join(program.shared_dir, f"ecosystem.{program.process}.json")

    def config_files(self, program: Program) -> list[ConfigFile]:
        settings = program.pm2 or Pm2App()
        argv = program.argv
        node_args: list[str] = []
        if settings.exec_mode == "cluster":
            # node [--node-option=value ...] SCRIPT [args]: the daemon's node runs the script
            rest = argv[1:]
            while rest and rest[0].startswith("-"):
                node_args.append(rest.pop(0))
            script, args = rest[0], rest[1:]
        else:
            script, args = argv[0], argv[1:]
        text = render("pm2-ecosystem.json.j2", program.root, process=program.process, script=script,
                      args=args, node_args=node_args, directory=program.directory, log_dir=program.log_dir,
                      exec_mode=settings.exec_mode, instances=settings.instances,
                      max_memory_restart=settings.max_memory_restart,
                      log_date_format=settings.log_date_format,
                      out_file=program.log_file("out"), error_file=program.log_file("err"),
                      stop_timeout_ms=self.stop_timeout_ms, listen_timeout_ms=self.listen_timeout_ms)
        return [ConfigFile(self.ecosystem_file(program), text, 0o644, f"pm2 ecosystem {program.process}")]

    def restart_commands(self, program: Program) -> list[Command]:
        # startOrReload starts the app the first time; afterwards it restarts a fork-mode app and,
        # in cluster mode, reloads: one worker at a time, each new worker listening before an old
        # one is stopped (zero downtime). A reload keeps the running instance count, so `scale`
        # brings it to the configured number. scale exits 1 with "Nothing to do" when the count
        # is right already, so its exit code is not used: the health gate counts the workers.
        commands = [self.pm2("startOrReload", self.ecosystem_file(program), "--update-env")]
        settings = program.pm2
        if settings and settings.exec_mode == "cluster" and isinstance(settings.instances, int):
            scale = self.pm2("scale", program.process, str(settings.instances))
            commands.append(Command(scale.parts + (Op(">/dev/null 2>&1"), OR, "true")))
        return commands

    # -- the cluster's workers ---------------------------------------------------------------------
    def workers_command(self) -> Command:
        """pm2 jlist, then each pm2-managed pid's working folder as the kernel sees it (a release
        folder, the `current` link resolved when the worker started)."""
        jlist = self.pm2("jlist")
        cwds = chain([cmd("echo", CWD_MARK),
                      cmd("find", "/proc", "-mindepth", "2", "-maxdepth", "2", "-name", "cwd",
                          "-printf", "%h %l\\n", Op("2>/dev/null"))], SEMI)
        return chain([jlist, cwds], SEMI)

    def workers_helper_command(self) -> Command:
        """deploy/process/pm2_workers.js on the host: one node for a whole gate, connected to the
        daemon once through pm2's programmatic API (resolved from `binary`'s install); it answers
        each line on its stdin with one reading (parse_helper_line)."""
        prefix = ("env", f"PM2_HOME={self.home}") if self.home else ()
        return cmd(*prefix, "node", "-e", Script("pm2_workers.js", helper_source()), self.binary)

    def stop_command(self, program: Program) -> Command:
        return self.pm2("delete", program.process)

    # -- logs ------------------------------------------------------------------------------------
    # The runbook's `pm2 logs marketplace-api --lines 100`; --raw leaves the program's lines as it
    # wrote them (no "0|name |" prefix, no colours), out then err. Following reads the files the
    # ecosystem names (merge_logs: every worker's lines in one file per stream) with `tail -F`:
    # `pm2 logs` without --nostream prints the files' last lines, then subscribes to the daemon's
    # log bus - a line written between the two is never shown (pm2's lib/API/LogManagement.js).
    def log_command(self, program: Program, lines: int, follow: bool = False) -> Command:
        if follow:
            return self.follow_files_command(program, lines)
        return self.pm2("logs", program.process, "--lines", str(lines), "--raw", "--nostream")

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


CWD_MARK = "@@deploy-pm2-cwds@@"
HELPER_MARK = "@@deploy-pm2-workers@@"


@lru_cache(maxsize=1)
def helper_source() -> str:
    return (Path(__file__).parent / "pm2_workers.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Worker:
    """One process pm2 runs (a cluster has one per instance), from `pm2 jlist`."""

    name: str
    pm_id: int
    pid: int | None
    status: str            # pm2's word: online, launching, errored, stopped, ...
    exec_mode: str         # cluster | fork
    restarts: int
    started_ms: float | None   # pm_uptime: when this process was (re)started, epoch ms
    cwd: str | None = None     # its working folder, resolved (from workers_command)


def parse_workers(stdout: str) -> list[Worker]:
    """Every process in `pm2 jlist` output (banners before the JSON are skipped); with the
    output of `workers_command`, each worker's resolved working folder too."""
    text, _, cwd_text = stdout.partition(CWD_MARK)
    cwds: dict[int, str] = {}
    for line in cwd_text.splitlines():
        proc_dir, _, folder = line.strip().partition(" ")   # /proc/<pid> <folder>
        pid = proc_dir.removeprefix("/proc/")
        if pid.isdigit() and folder:
            cwds[int(pid)] = folder
    return _workers(extract_json_array(text), cwds)


def parse_helper_line(line: str) -> list[Worker] | None:
    """One answer of pm2_workers.js (its processes, each with its `cwd`); None when the line is
    not one (a crashed helper's output, a banner)."""
    mark, _, text = line.strip().partition(" ")
    if mark != HELPER_MARK:
        return None
    try:
        procs = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(procs, list):
        return None
    cwds = {p["pid"]: p["cwd"] for p in procs
            if isinstance(p, dict) and isinstance(p.get("pid"), int) and isinstance(p.get("cwd"), str)}
    return _workers(procs, cwds)


def _workers(procs: list, cwds: dict[int, str]) -> list[Worker]:
    workers = []
    for proc in procs:
        if not isinstance(proc, dict) or "name" not in proc:
            continue
        env = proc.get("pm2_env") or {}
        pid = proc.get("pid") or None
        uptime = env.get("pm_uptime")
        workers.append(Worker(
            name=str(proc["name"]), pm_id=int(proc.get("pm_id", env.get("pm_id", -1))), pid=pid,
            status=str(env.get("status", "unknown")),
            exec_mode=str(env.get("exec_mode", "fork_mode")).removesuffix("_mode"),
            restarts=int(env.get("restart_time") or 0),
            started_ms=float(uptime) if isinstance(uptime, (int, float)) else None,
            cwd=cwds.get(pid) if pid else None))
    return workers


def _overall(workers: list[Worker]) -> str:
    """An app's state from its workers' states: running only when all of them are online."""
    states = [_STATES.get(w.status, "unknown") for w in workers]
    for state in ("errored", "starting", "stopped", "unknown"):
        if state in states:
            return state
    return "running"


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

"""`invoke logs`: an app's logs from each of its hosts, through the host's process manager.

    fetch   the last N lines (per stream) from every host at once; printed host by host
    follow  one stream per host, all at once, each line as it comes, until stopped (Ctrl-C)

Every line carries its host (`api-1 | ...`) and is masked. A host that cannot be reached does
not hide the others: its error is reported with the rest, and the task ends 1.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, TextIO

from deploy.releases import steps as releases
from deploy.engine import targets
from deploy.commands.shell import Command, Op, sh
from deploy.config.environment import Environment, HostConfig
from deploy.errors import ConfigError
from deploy.hosts.fleet import Fleet, Host
from deploy.process.base import ProcessManager, Program
from deploy.secrets import mask, mask_data

BOTH = Op("2>&1")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


# -- what to read -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One app on the chosen hosts, and how its process manager shows its logs."""

    app: str
    hosts: tuple[HostConfig, ...]
    manager: ProcessManager
    program: Program


def host_names(values: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """--host given once or more, each a name or a comma list -> names, in order, once each."""
    if values is None:
        return []
    given = [values] if isinstance(values, str) else list(values)
    names: list[str] = []
    for value in given:
        for name in str(value).split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


def source(env: Environment, app: str, hosts: list[str], roles: list[str] | None = None) -> Source:
    """The app and hosts to read (--host, --role), checked against the environment (ConfigError: exit 2)."""
    if app not in env.apps:
        known = ", ".join(env.apps) or "none"
        raise ConfigError(f"unknown app {app!r} (apps of {env.name}: {known})")
    config = env.apps[app]
    if config.mode != "process":
        raise ConfigError(f"apps.{app} is served as {config.mode} files, not run by a process manager: "
                          "it has no logs to read")
    runs_it = env.hosts_with(config.role)
    if not runs_it:
        raise ConfigError(f"{env.source_file}: no host has the role {config.role!r} (apps.{app}.role)")
    chosen = list(runs_it)
    if hosts:
        known = {h.name: h for h in env.hosts}
        unknown = [n for n in hosts if n not in known]
        if unknown:
            raise ConfigError(f"unknown host(s): {', '.join(unknown)} (hosts of {env.name}: "
                              f"{', '.join(known)})")
        others = [n for n in hosts if known[n] not in runs_it]
        if others:
            verb = "does" if len(others) == 1 else "do"
            raise ConfigError(f"{', '.join(others)} {verb} not run {app} (hosts with the role "
                              f"{config.role!r}: {', '.join(h.name for h in runs_it)})")
        chosen = [known[n] for n in hosts]
    if roles:
        chosen = targets.select(env, chosen, roles=roles, what=f"the app {app}")
    return Source(app, tuple(chosen), releases.manager_for(env), releases.program_for(env, app))


# -- lines ---------------------------------------------------------------------------------------------
def clean(line: str) -> str:
    """A log line as printed: no terminal colour codes, no trailing space."""
    return _ANSI.sub("", line).rstrip()


def prefixed(host: str, line: str, width: int) -> str:
    return f"{host:<{width}} | {line}"


class Printer:
    """Lines from many threads, one whole line at a time: `host | line`, or with --json one
    compact JSON object per line ({"host", "line"})."""

    def __init__(self, hosts: list[str], json_lines: bool = False, stream: TextIO | None = None):
        self.width = max((len(h) for h in hosts), default=0)
        self.json_lines = json_lines
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def line(self, host: str, line: str) -> None:
        text = (json.dumps(mask_data({"host": host, "line": line}), ensure_ascii=False) if self.json_lines
                else mask(prefixed(host, line, self.width)))
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()


# -- fetch: the last N lines ---------------------------------------------------------------------------
@dataclass
class HostLogs:
    host: str
    lines: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return {"host": self.host, "ok": self.ok, "error": self.error, "lines": self.lines}


def fetch(env: Environment, src: Source, lines: int) -> list[HostLogs]:
    """The last `lines` lines of each stream from every chosen host, read all at once."""
    # one stream, in the order written (pm2 prints the err lines on its stderr)
    command = Command(sh(src.manager.log_command(src.program, lines)).parts + (BOTH,))

    def read(host: Host) -> list[str]:
        res = host.run(command, check=False, timeout=60)
        problem = src.manager.log_error(src.program, res.stdout, res.exit_code)
        if problem:
            raise LogsUnavailable(problem)
        return [clean(line) for line in src.manager.log_lines(res.stdout, lines)]

    with Fleet(env, src.hosts) as fleet:
        result = fleet.run(read, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    found = result.by_host()
    return [HostLogs(h.name, found[h.name].value or [],
                     None if found[h.name].ok else unprefixed(h.name, found[h.name].error or "failed"))
            for h in src.hosts]


def unprefixed(host: str, message: str) -> str:
    """A host's error without its own name in front (it is printed as `host: error`)."""
    return message.removeprefix(f"{host}: ")


class LogsUnavailable(Exception):
    """The host answered, but its process manager shows no logs for the app."""


# -- follow: every host at once, until stopped -----------------------------------------------------------
def follow(env: Environment, src: Source, lines: int, on_line: Callable[[str, str], None],
           on_error: Callable[[str, str], None], stop: threading.Event) -> dict[str, str]:
    """Stream from every host at once (a thread each) until `stop` is set or every stream ended.

    on_line(host, line) for each line; on_error(host, message) when a host's stream fails or ends
    by itself. Returns the errors by host. Ctrl-C lands in the calling thread, which waits here:
    it ends the wait (and the streams), not the task."""
    command = src.manager.log_command(src.program, lines, follow=True)
    errors: dict[str, str] = {}
    lock = threading.Lock()

    def fail(host: str, message: str) -> None:
        with lock:
            errors[host] = message
        on_error(host, message)

    with Fleet(env, src.hosts) as fleet:
        def one(host: Host) -> None:
            def line(text: str) -> None:
                text = clean(text)
                if not src.manager.log_noise(text):
                    on_line(host.name, text)
            try:
                code = host.stream(command, line, stop)
            except Exception as exc:   # this host's failure, reported; the others go on
                fail(host.name, unprefixed(host.name, mask(str(exc)) or type(exc).__name__))
                return
            if code is not None and not stop.is_set():
                fail(host.name, f"the log stream ended (exit {code})")

        threads = [threading.Thread(target=one, args=(h,), name=f"logs-{h.name}", daemon=True)
                   for h in fleet.hosts]
        for t in threads:
            t.start()
        watcher = threading.Thread(target=lambda: ([t.join() for t in threads], stop.set()), daemon=True)
        watcher.start()   # every stream ended by itself: nothing left to wait for
        try:
            while not stop.wait(0.2):   # short waits: the thread must wake up to take Ctrl-C
                pass
        except KeyboardInterrupt:   # Ctrl-C is how following ends
            pass
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
    return errors

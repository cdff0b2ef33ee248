"""Operating the running apps: the runbook's `pm2 logs` and `pm2 restart`, over every host."""

from __future__ import annotations

import re
import threading

from deploy.cli import Run, deploy_task
from deploy.errors import EXIT_FAILED, ConfigError
from deploy.lazy import lazy
from deploy.targets import HOST_HELP, ROLE_HELP
from deploy.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds, whole_number

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
logs_mod = lazy("deploy.logs")
restart_mod = lazy("deploy.restart")

APP = "the app: api or web (default api)"
DEFAULT_LINES = 100      # logs --lines
MAX_LINES = 10_000


@deploy_task(namespace="tasks", iterable=["host"], help={
    "app": APP,
    "host": "only this host (repeat the flag, or give a comma list); default every host of the app",
    "lines": f"the last N lines of each stream (out, err) per host (default {DEFAULT_LINES})",
    "follow": "then stream new lines from every host at once until Ctrl-C "
              "(with --json: one JSON object per line, then the summary)",
    "grep": "only lines matching this regular expression (Python syntax; of the last --lines lines, "
            "or as they come with --follow)",
})
def logs(run: Run, app: str = "api", host: list = None, lines: str = None, follow: bool = False,
         grep: str = None):
    """Show an app's logs from each host (pm2 logs / supervisorctl tail / journalctl), host-prefixed."""
    count = whole_number(lines, "lines", DEFAULT_LINES)
    if count > MAX_LINES:
        raise ConfigError(f"--lines must be at most {MAX_LINES}")
    wanted = line_filter(grep)
    src = logs_mod.source(run.env, app, logs_mod.host_names(host))
    names = [h.name for h in src.hosts]
    printer = logs_mod.Printer(names, json_lines=run.out.json_mode)
    if follow:
        return _follow(run, src, count, FilteredPrinter(printer, wanted))
    found = logs_mod.fetch(run.env, src, count)
    for host_logs in found:
        host_logs.lines = [line for line in host_logs.lines if wanted(line)]
    if not run.out.json_mode:
        for host_logs in found:
            for line in host_logs.lines:
                printer.line(host_logs.host, line)
    return _ended(run, {"app": app, "lines": count, "hosts": [h.as_dict() for h in found]},
                  {h.host: h.error for h in found if h.error})


def line_filter(pattern: str | None):
    """--grep PATTERN -> a predicate on lines (a bad pattern is bad input, exit 2)."""
    if pattern in (None, ""):
        return lambda line: True
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"--grep: {pattern!r} is not a regular expression ({exc})") from None
    return lambda line: compiled.search(line) is not None


class FilteredPrinter:
    """A Printer that passes on only the lines --grep wants."""

    def __init__(self, printer: logs_mod.Printer, wanted):
        self.printer, self.wanted = printer, wanted

    def line(self, host: str, line: str) -> None:
        if self.wanted(line):
            self.printer.line(host, line)


def _follow(run: Run, src: logs_mod.Source, count: int, printer: logs_mod.Printer | FilteredPrinter) -> dict:
    errors = logs_mod.follow(run.env, src, count, printer.line,   # until Ctrl-C: not an error
                             lambda host, error: run.out.error(f"{host}: {error}"), threading.Event())
    return _ended(run, {"app": src.app, "lines": count, "follow": True,
                        "hosts": [{"host": h.name, "ok": h.name not in errors, "error": errors.get(h.name)}
                                  for h in src.hosts]}, errors)


def _ended(run: Run, data: dict, errors: dict[str, str]) -> dict:
    if errors:
        if not data.get("follow"):
            for host, error in errors.items():
                run.out.error(f"{host}: {error}")
        data.update(_exit_code=EXIT_FAILED, error=f"no logs from {', '.join(errors)}")
    return data


@deploy_task(namespace="tasks", iterable=["host", "role"], help={
    "app": APP, "lock_wait": LOCK_WAIT, "dry_run": DRY_RUN, "host": HOST_HELP, "role": ROLE_HELP})
def restart(run: Run, app: str = "api", lock_wait: str = None, dry_run: bool = False, host: list = None,
            role: list = None):
    """Restart an app rolling (env.batches): drain, restart, health gate, back in the LB; journaled."""
    outcome = restart_mod.restart(run, app=app, lock_wait=lock_wait_seconds(lock_wait), dry_run=dry_run,
                                  hosts=host, roles=role)
    if dry_run:
        return outcome.as_dict()
    if outcome.ok:
        run.out.line(f"restart complete: {app} on {len(outcome.hosts)} host(s), each healthy")
    else:
        run.out.error(f"restart stopped: {outcome.error}")
    return outcome.as_dict()

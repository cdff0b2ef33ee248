"""Operating the running apps: the runbook's `pm2 logs` and `pm2 restart`, over every host."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timezone

from deploy.operate import log_times
from deploy.output import progress
from deploy.cli.task import Run, deploy_task
from deploy.errors import EXIT_FAILED, ConfigError
from deploy.engine import targets
from deploy.engine.targets import HOST_HELP, ROLE_HELP
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds, whole_number

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
logs_mod = lazy("deploy.operate.logs")
restart_mod = lazy("deploy.operate.restart")

APP = "the app: api or web (default api)"
DEFAULT_LINES = 100      # logs --lines
MAX_LINES = 10_000


@deploy_task(namespace="tasks", iterable=["host", "role"], help={
    "app": APP,
    "host": "only this host (repeat the flag, or give a comma list); default every host of the app",
    "role": ROLE_HELP,
    "lines": f"the last N lines of each stream (out, err) per host (default {DEFAULT_LINES}; "
             f"with --since {MAX_LINES}, the lines then kept by their time)",
    "follow": "then stream new lines from every host at once until Ctrl-C "
              "(with --json: one JSON object per line, then the summary)",
    "grep": "only lines matching this regular expression (Python syntax; of the last --lines lines, "
            "or as they come with --follow)",
    "since": log_times.SINCE_HELP,
})
def logs(run: Run, app: str = "api", host: list = None, role: list = None, lines: str = None,
         follow: bool = False, grep: str = None, since: str = None):
    """Show an app's logs from each host (pm2 logs / supervisord / journalctl), host-prefixed."""
    count = whole_number(lines, "lines", MAX_LINES if since and not follow else DEFAULT_LINES)
    if count > MAX_LINES:
        raise ConfigError(f"--lines must be at most {MAX_LINES}")
    wanted = line_filter(grep, since)
    src = logs_mod.source(run.env, app, logs_mod.host_names(host), targets.names(role))
    names = [h.name for h in src.hosts]
    printer = logs_mod.Printer(names, json_lines=run.out.json_mode)
    if follow:
        return _follow(run, src, count, FilteredPrinter(printer, wanted))
    with progress.wait(f"reading {app}'s logs from {len(names)} host(s)"):
        found = logs_mod.fetch(run.env, src, count)
    for host_logs in found:
        read = host_logs.lines
        host_logs.lines = [line for line in read if wanted(host_logs.host, line)]
        if since and read and host_logs.host not in wanted.stamped:
            run.out.warn(f"{host_logs.host}: none of its last {count} lines carries a timestamp, so --since "
                         "kept none (pm2: set log_date_format)")
    if not run.out.json_mode:
        for host_logs in found:
            for line in host_logs.lines:
                printer.line(host_logs.host, line)
    data = {"app": app, "lines": count, "hosts": [h.as_dict() for h in found]}
    if since:
        data["since"] = wanted.cutoff.isoformat()
    return _ended(run, data, {h.host: h.error for h in found if h.error})


class LineFilter:
    """--grep PATTERN and --since WHEN -> a predicate on (host, line); bad values are bad input
    (exit 2). `stamped`: the hosts that showed a timestamped line (--since)."""

    def __init__(self, pattern: str | None, since: str | None, now: datetime | None = None):
        self.pattern = None
        if pattern not in (None, ""):
            try:
                self.pattern = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"--grep: {pattern!r} is not a regular expression ({exc})") from None
        now = now or datetime.now(timezone.utc)
        self.cutoff = log_times.parse_since(since, now) if since not in (None, "") else None
        self.since = log_times.SinceFilter(self.cutoff, now) if self.cutoff else None

    @property
    def stamped(self) -> set[str]:
        return self.since.stamped if self.since else set()

    def __call__(self, host: str, line: str) -> bool:
        if self.since is not None and not self.since(host, line):    # every line: it moves the time
            return False
        return self.pattern is None or self.pattern.search(line) is not None


def line_filter(pattern: str | None, since: str | None = None) -> LineFilter:
    return LineFilter(pattern, since)


class FilteredPrinter:
    """A Printer that passes on only the lines --grep and --since want."""

    def __init__(self, printer: logs_mod.Printer, wanted: LineFilter):
        self.printer, self.wanted = printer, wanted

    def line(self, host: str, line: str) -> None:
        if self.wanted(host, line):
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

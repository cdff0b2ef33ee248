"""Operating the running apps: the runbook's `pm2 logs` and `pm2 restart`, over every host."""

from __future__ import annotations

import threading

from deploy import logs as logs_mod
from deploy import restart as restart_mod
from deploy.cli import Run, deploy_task
from deploy.errors import EXIT_FAILED, ConfigError
from deploy.tasks.common import LOCK_WAIT, lock_wait_seconds, whole_number

APP = "the app: api or web (default api)"


@deploy_task(namespace="tasks", iterable=["host"], help={
    "app": APP,
    "host": "only this host (repeat the flag, or give a comma list); default every host of the app",
    "lines": f"the last N lines of each stream (out, err) per host (default {logs_mod.DEFAULT_LINES})",
    "follow": "then stream new lines from every host at once until Ctrl-C "
              "(with --json: one JSON object per line, then the summary)",
})
def logs(run: Run, app: str = "api", host: list = None, lines: str = None, follow: bool = False):
    """Show an app's logs from each host (pm2 logs / supervisorctl tail / journalctl), host-prefixed."""
    count = whole_number(lines, "lines", logs_mod.DEFAULT_LINES)
    if count > logs_mod.MAX_LINES:
        raise ConfigError(f"--lines must be at most {logs_mod.MAX_LINES}")
    src = logs_mod.source(run.env, app, logs_mod.host_names(host))
    names = [h.name for h in src.hosts]
    printer = logs_mod.Printer(names, json_lines=run.out.json_mode)
    if follow:
        return _follow(run, src, count, printer)
    found = logs_mod.fetch(run.env, src, count)
    if not run.out.json_mode:
        for host_logs in found:
            for line in host_logs.lines:
                printer.line(host_logs.host, line)
    return _ended(run, {"app": app, "lines": count, "hosts": [h.as_dict() for h in found]},
                  {h.host: h.error for h in found if h.error})


def _follow(run: Run, src: logs_mod.Source, count: int, printer: logs_mod.Printer) -> dict:
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


@deploy_task(namespace="tasks", help={"app": APP, "lock_wait": LOCK_WAIT})
def restart(run: Run, app: str = "api", lock_wait: str = None):
    """Restart an app rolling (env.batches): drain, restart, health gate, back in the LB; journaled."""
    outcome = restart_mod.restart(run, app=app, lock_wait=lock_wait_seconds(lock_wait))
    if outcome.ok:
        run.out.line(f"restart complete: {app} on {len(outcome.hosts)} host(s), each healthy")
    else:
        run.out.error(f"restart stopped: {outcome.error}")
    return outcome.as_dict()

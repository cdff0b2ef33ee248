"""Database tools for operators: diagnose the rating queries; run the database client's commands."""

from __future__ import annotations

import posixpath
import shlex
from typing import TYPE_CHECKING

from deploy.cli.task import Run, deploy_task
from deploy.commands.shell import Command, chain, cmd, sh
from deploy.diagnose.model import Limits
from deploy.errors import EXIT_FAILED, ConfigError, StepFailed
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds, whole_number

if TYPE_CHECKING:
    from deploy.config.environment import ClientCommand, Environment

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
rundb = lazy("deploy.db.run_database")
executor = lazy("deploy.executor")
hosts = lazy("deploy.hosts.fleet")

DEFAULTS = Limits()
REPEAT = 3


@deploy_task(namespace="db", help={
    "verbose": "also print each query's SQL and raw plan (SQL Server: with STATISTICS IO/TIME)",
    "repeat": f"run each timed query N times and report the median (default {REPEAT})",
    "slow_ms": f"a query slower than this many ms is a warning (default {DEFAULTS.slow_ms:g}, the runbook's target)",
    "large_rows": f"from this many SellerRatings rows on, a query reading them all is a problem "
                  f"(default {DEFAULTS.large_rows})",
})
def diagnose(run: Run, verbose: bool = False, repeat: str = None, slow_ms: str = None, large_rows: str = None):
    """Find why rating requests are slow or 'Already rated' is wrong: indexes, plans, duplicates, times."""
    limits = Limits(large_rows=whole_number(large_rows, "large-rows", DEFAULTS.large_rows),
                    slow_ms=whole_number(slow_ms, "slow-ms", int(DEFAULTS.slow_ms)))
    runs = whole_number(repeat, "repeat", REPEAT)
    from deploy.diagnose.collect import gather
    from deploy.diagnose.report import as_dict, show
    from deploy.diagnose.rules import findings, has_problem

    run.out.info("diagnose: reading indexes and row counts, explaining the app's queries, timing the "
                 "monitoring queries ...")
    with rundb.open_db(run) as db:
        evidence = gather(db, rundb.sql_root(run), runs, verbose)
    found = findings(evidence, limits)
    show(run.out, evidence, found, verbose)
    return {**as_dict(evidence, found, verbose), "_exit_code": EXIT_FAILED if has_problem(found) else 0}


@deploy_task(namespace="db", positional=["name"], help={
    "name": "the command's name under db_client in the environment (e.g. generate)",
    "dry_run": DRY_RUN,
    "lock_wait": LOCK_WAIT,
})
def client(run: Run, name: str = None, dry_run: bool = False, lock_wait: str = None):
    """Run one of the database client's configured commands (db_client), locally or on a role's hosts."""
    wait = lock_wait_seconds(lock_wait)
    command = client_command(run.env, name)
    line = client_line(run.env, command)
    where = "here" if command.where == "local" else f"on every {command.where} host"
    summary = {"client": name, "run": command.run, "where": command.where}
    if dry_run:
        run.out.line(f"{where}: {line}")
        return {**summary, "dry_run": True, "command": str(line)}
    run.out.info(f"db.client {name}: {command.run} ({where})")
    with executor.executing(run, "db-client", wait) as ex:
        with ex.step(name, details=dict(summary)) as notes:
            outcomes = run_client(run.env, command, line)
            notes["hosts"] = [{"host": h, "ok": ok, "output": _last(text)} for h, ok, text in outcomes]
            failed = [f"{h}: {text}" for h, ok, text in outcomes if not ok]
            if failed:
                raise StepFailed(f"db.client {name} failed: " + "; ".join(failed))
    for host, _, text in outcomes:
        for out_line in text.splitlines():
            run.out.line(f"[{host}] {out_line}")
    return {**summary, "hosts": [{"host": h, "ok": ok, "output": text} for h, ok, text in outcomes]}


def client_command(env: Environment, name: str | None) -> ClientCommand:
    """The configured command, or exit 2: no name, an unknown name, or refused here."""
    names = ", ".join(sorted(env.db_client)) or "none (db_client in the environment file)"
    if not name:
        raise ConfigError(f"db.client needs a NAME (configured: {names})")
    if name not in env.db_client:
        raise ConfigError(f"unknown db.client command {name!r} (configured: {names})")
    command = env.db_client[name]
    if command.refuse:
        raise ConfigError(f"db.client {name} is refused in {env.name}: {command.refuse}")
    return command


def client_line(env: Environment, command: ClientCommand) -> Command:
    """`cd <folder> && <the command>`: the app's source folder here, its current release on a host.
    The configured line is split as a shell would, and each word quoted again."""
    if command.where == "local":
        folder = str(env.path(env.apps[command.app].source))
    else:
        folder = posixpath.join(env.deploy_to, command.app, "current")
    try:
        words = shlex.split(command.run)
    except ValueError as exc:
        raise ConfigError(f"{env.source_file}: db_client: {command.run!r}: {exc}") from None
    return sh(chain([cmd("cd", folder), cmd(*words)]))


def run_client(env: Environment, command: ClientCommand, line: Command) -> list[tuple[str, bool, str]]:
    """(host, ok, output or error) per host that ran it."""
    from deploy.config.environment import HostConfig

    if command.where == "local":
        host = hosts.LocalHost(HostConfig(name="local", transport="local"), command.timeout)
        result = host.run(line, timeout=command.timeout, check=False)
        text = (result.stdout if result.ok else (result.stderr or result.stdout)).strip()
        return [("local", result.ok, text if result.ok else f"exited {result.exit_code}: {_last(text)}")]
    with hosts.Fleet(env, env.hosts_with(command.where)) as fleet:
        outcome = fleet.run(lambda h: h.run(line, timeout=command.timeout).stdout.strip())
    return [(o.host, o.ok, (o.value or "") if o.ok else (o.error or "failed")) for o in outcome.outcomes]


def _last(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""

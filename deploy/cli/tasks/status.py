"""What runs where."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task
from deploy.errors import EXIT_FAILED, DeployError
from deploy.engine import targets
from deploy.lazy import lazy
from deploy.secrets import mask, mask_data
from deploy.engine.targets import HOST_HELP, ROLE_HELP
from deploy.cli.tasks.lock import describe_state, lock_state

# the implementation loads when the task runs: --list and --help stay light (deploy/lazy.py)
rundb = lazy("deploy.db.run_database")
journal = lazy("deploy.db.journal")
migrate = lazy("deploy.db.migrate")
host_status = lazy("deploy.operate.status")
unfinished_mod = lazy("deploy.operate.unfinished")


@deploy_task(iterable=["host", "role"], help={"host": HOST_HELP, "role": ROLE_HELP})
def status(run: Run, host: list = None, role: list = None):
    """Show each host, each app's release (linked and actually served), process state, flag %, the lock, pending migrations, unfinished runs, last events."""
    env = run.env
    rows = host_status.gather(env, targets.select(env, env.hosts, host or [], role or [], f"environment {env.name}"))
    run.out.line(f"environment {env.name}: {len(env.hosts)} host(s), database {env.database.dialect}, "
                 f"process manager {env.process.manager}")
    table_rows = []
    for row in rows:
        if not row.reachable:
            table_rows.append((row.host, row.address, "DOWN", "", "", "", "", "", row.error or ""))
            continue
        if not row.apps:
            table_rows.append((row.host, row.address, "up", "", "", "", "", "", "no apps for its roles"))
        for app, state in row.apps.items():
            detail = f"pid {state.pid}, uptime {state.uptime}" if state.pid else state.detail
            flag = row.flags.get(app)
            serving = row.serving.get(app)
            served = (serving.version or "no answer") if serving else "-"
            if serving and serving.version and serving.version != row.releases.get(app):
                served += " (MISMATCH)"
            flag_text = flag.describe() if flag else "-"
            if serving and serving.flag and flag and serving.flag != flag:
                flag_text += f" (serves {serving.flag.describe()}: MISMATCH)"
            table_rows.append((row.host, row.address, "up", app, row.releases.get(app) or "-", served, state.name,
                               state.state, flag_text, detail))
    run.out.table(None, ["host", "address", "reachable", "app", "release", "serving", "process", "state", "flag",
                         "detail"], table_rows)
    problems = [p for row in rows for p in row.problems()]
    for problem in problems:
        run.out.line(f"problem: {problem}")
    database = database_summary(run)
    if database.get("error"):
        run.out.line(f"database: {database['error']}")
    else:
        for text in describe_state(database["lock"]):
            run.out.line(f"lock: {text}")
        pending = [m["version"] + "_" + m["name"] for m in database["migrations"] if m["state"] != "applied"]
        run.out.line("migrations: " + (f"{len(pending)} not applied: {', '.join(pending)}" if pending
                                       else f"all {len(database['migrations'])} applied"))
        for unfinished in database["unfinished"]:
            run.out.line(f"unfinished: {unfinished['text']}")
        run.out.table("Last events", ["at (UTC)", "phase", "action", "host", "outcome"],
                      [(e["at"], e["phase"], e["action"], e["host"] or "", e["outcome"])
                       for e in database["events"]])
    down = [r.host for r in rows if not r.reachable]
    failing = down or problems or database.get("unfinished")
    return {"hosts": [r.as_dict() for r in rows], "down": down, "problems": problems, "database": database,
            "_exit_code": EXIT_FAILED if failing else 0}


def database_summary(run: Run, events: int = 5, scan: int = 500) -> dict:
    """Pending migrations, runs started and never finished (from the newest `scan` events) and the
    newest journal events; an unreachable database is reported, not fatal (status must work when
    the database is the problem)."""
    try:
        with rundb.open_db(run) as db:
            states = migrate.status(db, rundb.sql_root(run))
            recent = journal.query(db, environment=run.env.name, limit=scan)
        lock = lock_state(run)
    except DeployError as exc:
        return {"error": mask(str(exc))}
    newest = recent[:events]
    return {"lock": lock, "migrations": [{"version": m.version, "name": m.name, "state": m.state} for m in states],
            "unfinished": [mask_data(u.as_dict()) for u in unfinished_mod.unfinished_runs(recent)],
            "events": [{"at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "phase": e.phase, "action": e.action,
                        "host": e.host, "outcome": e.outcome} for e in newest]}

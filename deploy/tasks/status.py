"""What runs where."""

from __future__ import annotations

from deploy.cli import Run, deploy_task
from deploy.errors import EXIT_FAILED
from deploy.status import gather


@deploy_task()
def status(run: Run):
    """Show the environment, each host (reachable or not) and each app's process state."""
    env = run.env
    rows = gather(env)
    run.out.line(f"environment {env.name}: {len(env.hosts)} host(s), database {env.database.dialect}, "
                 f"process manager {env.process.manager}")
    table_rows = []
    for row in rows:
        if not row.reachable:
            table_rows.append((row.host, row.address, "DOWN", "", "", "", "", row.error or ""))
            continue
        if not row.apps:
            table_rows.append((row.host, row.address, "up", "", "", "", "", "no apps for its roles"))
        for app, state in row.apps.items():
            detail = f"pid {state.pid}, uptime {state.uptime}" if state.pid else state.detail
            table_rows.append((row.host, row.address, "up", app, row.releases.get(app) or "-", state.name,
                               state.state, detail))
    run.out.table(None, ["host", "address", "reachable", "app", "release", "process", "state", "detail"], table_rows)
    down = [r.host for r in rows if not r.reachable]
    return {"hosts": [r.as_dict() for r in rows], "down": down,
            "_exit_code": EXIT_FAILED if down else 0}

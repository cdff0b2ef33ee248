"""The backend rollback (part of the rollback namespace)."""

from __future__ import annotations

from deploy.engine import targets
from deploy.engine.targets import HOST_HELP, ROLE_HELP
from deploy.cli.task import Run, deploy_task
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds

p2 = lazy("deploy.phases.phase2")   # loads when the task runs: --list and --help stay light (deploy/lazy.py)


@deploy_task(namespace="rollback", help={
    "to": "the release id to go back to (see deploy.releases); default: each host's previous release",
    "dry_run": DRY_RUN,
    "lock_wait": LOCK_WAIT,
    "host": HOST_HELP,
    "role": ROLE_HELP,
}, iterable=["host", "role"])
def backend(run: Run, to: str = None, dry_run: bool = False, lock_wait: str = None, host: list = None,
            role: list = None):
    """Roll back phase 2: every API host to its previous release, rolling and health-gated."""
    ctx = p2.AppContext.load(run.env, p2.APP)
    ctx.hosts = targets.select(run.env, ctx.hosts, host or [], role or [], p2.APP)
    outcome = p2.rollback_backend(run, to=to, dry_run=dry_run, lock_wait=lock_wait_seconds(lock_wait), ctx=ctx)
    if outcome.ok and not outcome.dry_run:
        now = sorted({h["now"] for h in outcome.hosts if h["now"]})
        run.out.line(f"rollback complete: API hosts on {', '.join(now)}")
    elif not outcome.ok:
        run.out.error(f"rollback failed and was undone: {outcome.error}")
    return outcome.as_dict()

"""The database rollback (part of the rollback namespace)."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds, whole_number

phases = lazy("deploy.phases.database")   # loads when the task runs (deploy/lazy.py)


@deploy_task(namespace="rollback", help={
    "steps": "how many applied migrations to roll back, newest first (default 1)",
    "force": "roll back even though SellerRatings holds ratings (they are lost; a backup is taken)",
    "reason": "why (required with --force; journaled)",
    "dry_run": DRY_RUN,
    "lock_wait": LOCK_WAIT,
})
def database(run: Run, steps: str = None, force: bool = False, reason: str = None, dry_run: bool = False,
             lock_wait: str = None):
    """Roll back phase 1: verified backup, then the down files newest first in one transaction."""
    result = phases.rollback_database(run, whole_number(steps, "steps", default=1), force, reason, dry_run,
                                      lock_wait_seconds(lock_wait))
    if dry_run:
        run.out.line(result.dry_run_sql or "")
        return {"dry_run": True, "sql": result.dry_run_sql, "ratings": result.ratings}
    for m in result.rolled_back:
        run.out.line(f"rolled back {m['version']}_{m['name']}")
    run.out.line(f"restore point: backup {result.backup['id']} ({result.backup['path']})")
    return {"rolled_back": result.rolled_back, "backup": result.backup, "ratings_lost": result.ratings}

"""The frontend rollback (part of the rollback namespace)."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds

frontend_rollback = lazy("deploy.phases.frontend_rollback")   # loads when the task runs (deploy/lazy.py)


@deploy_task(namespace="rollback", help={
    "to": "the web release to go back to; default: each web host's previous release",
    "flag_off": "switch the rating feature off (ENABLE_RATING_FEATURE=false) instead, keeping the code",
    "dry_run": DRY_RUN,
    "lock_wait": LOCK_WAIT,
})
def frontend(run: Run, to: str = None, flag_off: bool = False, dry_run: bool = False, lock_wait: str = None):
    """Roll back phase 3: the previous web release on every web host, or --flag-off; health-gated."""
    outcome = frontend_rollback.rollback_frontend(run, to=to, flag_off=flag_off, dry_run=dry_run,
                                                  lock_wait=lock_wait_seconds(lock_wait))
    data = outcome.as_dict()
    if outcome.dry_run:
        return data
    if not outcome.ok:
        run.out.error(f"rollback failed: {outcome.error}")
    elif flag_off:
        run.out.line(f"rollback complete: {outcome.note}")
    else:
        now = sorted({h.get("now") for h in data.get("hosts", []) if h.get("now")}) or [data.get("release")]
        run.out.line(f"rollback complete: web on {', '.join(str(n) for n in now)}")
    return data

"""Phase 3: the web release and the feature flag's stages; part of the deploy namespace."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task
from deploy.lazy import lazy
from deploy.monitoring.flags import duration
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds

p3 = lazy("deploy.phases.phase3")   # loads when the task runs: --list and --help stay light (deploy/lazy.py)

HELP = {
    "rollout": "move the rating feature to N% of users: one of the environment's rollout.stages "
               "(default 10, 25, 50, 100); without it, release the web app only",
    "force": "move up more than one stage at once",
    "skip_soak": "do not wait for the soak time left (needs --reason, which is journaled)",
    "reason": "why the soak is skipped (with --skip-soak)",
    "observe": "the observation window after the change (default: rollout.observe of the environment, "
               "else gate.observe in checks/rollout.yaml), e.g. 2s, 10m",
    "artifact": "a CI build of the web app to release (a folder or a .tar.gz) instead of building here",
    "dry_run": DRY_RUN,
    "lock_wait": LOCK_WAIT,
}


@deploy_task(namespace="deploy", help=HELP)
def phase3(run: Run, rollout: str = None, force: bool = False, skip_soak: bool = False, reason: str = None,
           observe: str = None, artifact: str = None, dry_run: bool = False, lock_wait: str = None):
    """Phase 3: release the web app; --rollout N moves the rating feature to N%, gated on soak and metrics."""
    outcome = p3.phase3(run, rollout=rollout, force=force, skip_soak=skip_soak, reason=reason,
                        observe=duration(observe, "observe"), artifact=artifact, dry_run=dry_run,
                        lock_wait=lock_wait_seconds(lock_wait))
    if outcome.dry_run:
        return outcome.as_dict()
    if not outcome.ok:
        done = ("failed and was undone" if outcome.undo else
                "failed part-way (a rollback keeps what it lowered)" if any(u["changed"] for u in outcome.units)
                else "stopped before any change")
        run.out.error(f"phase 3 {done}: {outcome.error}")
    elif outcome.direction is None:
        run.out.line(f"phase 3: {outcome.note}")
    elif outcome.note:
        run.out.line(f"phase 3: {outcome.note}")
    else:
        verb = {"up": "raised", "down": "lowered (rollback)", "same": "re-applied"}[outcome.direction]
        run.out.line(f"phase 3 complete: rating feature {verb} from {outcome.previous}% to {outcome.percentage}% "
                     "of users")
    return outcome.as_dict()

"""The feature flag's rollout: which users are in at which percentage (sticky bucketing)."""

from __future__ import annotations

from deploy.flag import rollout as policy
from deploy.cli.task import Run, deploy_task
from deploy.errors import ConfigError
from deploy.monitoring.flags import whole_number


@deploy_task(help={
    "user": "the user id (as the app sees it: the token's sub)",
    "percentage": "also answer for this percentage (0..100)",
})
def explain(run: Run, user: str = None, percentage: str = None):
    """Is this user in the rollout? Their bucket (1..100) and the answer at every stage."""
    if user is None or not str(user).strip():
        raise ConfigError("--user ID is required")
    flag = run.env.rollout.flag
    pct = whole_number(percentage, "percentage", None, low=0, high=100) if percentage not in (None, "") else None
    data = policy.explain(flag, str(user).strip(), run.env.rollout.stages, pct)
    run.out.line(f"user {data['user']}: murmur3(\"{data['key']}\") % 100 + 1 = {data['bucket']}")
    for stage, inside in data["stages"].items():
        run.out.item("pass" if inside else "skip", f"{stage}%", "in" if inside else "not in")
    first = data["first_stage_in"]
    run.out.line(f"first in at {first}%" if first else "in only above the last stage")
    if pct is not None:
        run.out.line(f"at {pct}%: {'in' if data['enabled'] else 'not in'}")
    return data

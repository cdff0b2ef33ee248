"""A release rolled back: every host of an app on its previous release (or --to RELEASE), through
the same turns as a release (no upload, the env file kept): rollback.backend, rollback.frontend."""

from __future__ import annotations

from typing import Any

from deploy.engine import side_by_side
from deploy.run import Run
from deploy.commands import release as rc
from deploy.commands.release import HostReleases
from deploy.engine import plan
from deploy.engine.context import AppContext, Journal
from deploy.engine.results import Outcome, release_body, table
from deploy.engine.roll import observe, report_where_now, roll, runs_for
from deploy.engine.runs import HostRun
from deploy.errors import ConfigError, DeployError, StepFailed
from deploy.executor import executing
from deploy.hosts.fleet import Fleet


def rollback(run: Run, ctx: AppContext, to: str | None, dry_run: bool, lock_wait: float, phase: str) -> Outcome:
    """Every host of ctx back on its previous release (or `to`), rolling and health-gated."""
    env = run.env
    if to is not None and not rc.valid_release_id(to):
        raise ConfigError(f"--to {to!r} is not a release id")
    beside = side_by_side.chosen(ctx)   # the previous release boots beside, then the LB moves
    with Fleet(env, ctx.hosts) as fleet:
        runs = runs_for(fleet)
        if dry_run:
            plan_rollback(fleet, ctx, runs, to, beside)
            return plan.release_plan(run, ctx, runs, to or "previous", None, rollback=True)
        ctx.check_lb()
        holder: dict[str, Any] = {"release": to}

        def planned() -> None:
            holder["reading"] = True
            plan_rollback(fleet, ctx, runs, to, beside)
            holder["reading"] = False

        try:
            # one read of each host (releases and slot), under the lock - a deploy that held it
            # cannot have changed a host since - and before the task begins: a refusal (no
            # previous release, an unknown --to, a host that does not answer) journals nothing
            with executing(run, phase, lock_wait, before=planned) as ex:
                holder["ex"] = ex
                if beside:
                    side_by_side.rollback(run, ctx, fleet, runs, ex, Journal(ex))
                else:
                    roll(run, ctx, fleet, runs, Journal(ex), ex, with_env=False)
        except KeyboardInterrupt:
            if holder.get("reading"):
                raise
            report_where_now(run, ctx, fleet, runs, None)
            raise
        except Exception as exc:
            if holder.get("reading") or (isinstance(exc, DeployError) and not isinstance(exc, StepFailed)):
                raise   # refused before anything changed: bad input (2), lock held (3), a host down (1)
            report_where_now(run, ctx, fleet, runs, to)
            return Outcome.failure(exc, release_body(to, runs), holder.get("ex"))
    for r in runs.values():
        r.now = r.target
    table(run, "Rolled back", runs, None)
    return Outcome(ok=True, body=release_body(to, runs))


def plan_rollback(fleet: Fleet, ctx: AppContext, runs: dict[str, HostRun], to: str | None,
                  with_slot: bool = False) -> None:
    """Each host's target and its `previous` after the switch (with_slot: and the slot that
    serves, read in the same round trip); refuses before anything changes."""
    down = observe(fleet, ctx, runs, with_slot)
    if down:
        raise StepFailed("cannot read the releases of " + "; ".join(f"{h}: {e}" for h, e in down.items())
                         + " - nothing was changed")
    to = to or mixed_fleet_target(runs)
    for r in runs.values():
        r.target = rollback_target(r.name, r.before, to)
        r.previous = r.before.older_than(r.target)


def mixed_fleet_target(runs: dict[str, HostRun]) -> str | None:
    """Hosts on different releases (a deploy killed half-way) go back together to the oldest of
    them - the release the hosts it never reached still run - not each to its own previous, which
    would split the fleet across two older releases. None when the hosts agree."""
    currents = {r.before.current for r in runs.values() if r.before and r.before.current}
    return min(currents) if len(currents) > 1 else None   # release ids sort by their UTC time


def rollback_target(host: str, before: HostReleases, to: str | None) -> str:
    """Where a host goes: --to (which it must hold) or its previous release."""
    held = ", ".join(before.releases) or "none"
    if to is not None:
        if to not in before.releases:
            raise ConfigError(f"{host}: has no release {to!r} (it has: {held})")
        return to
    if not before.previous or before.previous not in before.releases:
        raise ConfigError(f"{host}: no previous release to roll back to (it has: {held}); "
                          "choose one with --to RELEASE")
    return before.previous

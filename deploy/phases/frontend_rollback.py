"""rollback.frontend (the runbook's "Rollback Phase 3"), in seconds and health-gated:

    default       every web host back on its previous web release (or --to RELEASE): the engine's
                  rolling switch + restart (static: re-publish) + health gate; the env file, and
                  so the flag's live value, is kept; command mode publishes the previous build again
    --flag-off    ENABLE_RATING_FEATURE=false on every api and web unit, the percentage kept
                  ("Or use feature flag to disable"); the code stays. A unit that cannot be
                  switched off is reported (exit 1); the others stay off - a rollback never
                  switches the feature back on.
Journaled as phase "rollback-frontend"; a flag change also as phase3/rollout (one timeline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy.flag import units as flag_mod
from deploy.flag import journal as flag_journal
from deploy.phases import web_release
from deploy.engine import rollback
from deploy.engine.context import Journal
from deploy.engine.results import Outcome
from deploy.run import Run
from deploy.commands import release as rc
from deploy.db.connect import connect
from deploy.errors import ConfigError, DeployError, StepFailed
from deploy.executor import executing
from deploy.hosts.fleet import Fleet
from deploy.phases.phase3_output import flag_body, report_units
from deploy.flag.rollout import FlagState, rollout_details
from deploy.phases.site import Site

PHASE = "rollback-frontend"


def rollback_frontend(run: Run, to: str | None = None, flag_off: bool = False, dry_run: bool = False,
                      lock_wait: float = 0):
    env = run.env
    if to is not None and flag_off:
        raise ConfigError("--to and --flag-off are two rollbacks: give one of them")
    if to is not None and not rc.valid_release_id(to):
        raise ConfigError(f"--to {to!r} is not a release id")
    site = Site.load(env)
    if flag_off:
        return switch_off(run, site, dry_run, lock_wait)
    if site.web is None and site.publisher is None:
        raise ConfigError(f"{env.source_file}: apps.web is not configured")
    if site.publisher is not None:
        return republish(run, site, to, dry_run, lock_wait)
    return rollback.rollback(run, site.web, to=to, dry_run=dry_run, lock_wait=lock_wait, phase=PHASE)


# -- --flag-off -----------------------------------------------------------------------------------------
def switch_off(run: Run, site: Site, dry_run: bool, lock_wait: float) -> Outcome:
    env = run.env
    with connect(run.database, Path(env.root)) as db:
        journaled = flag_journal.read(db, env.name)
        web_live = web_release.live_release(db, env) if site.publisher else None
    current = journaled.state or site.configured
    target = FlagState(False, current.percentage)
    with Fleet(env, site.hosts) as fleet:
        runs = [flag_mod.UnitRun(u) for u in site.units(fleet, web_live, current)]
        if dry_run:
            down = flag_mod.observe(fleet, runs, current)
            run.out.line(f"rollback.frontend --flag-off: {current.describe()} -> {target.describe()} "
                         "- dry run, nothing changes")
            for r in runs:
                run.out.line(f"{r.unit.name}: " + (f"cannot read: {down[r.unit.name]}" if r.unit.name in down
                                                   else f"now {r.before.describe() if r.before else '?'}"))
                if isinstance(r.unit, flag_mod.HostUnit):
                    run.out.line(f"  run     {flag_mod.write_command(r.unit.target.layout, target)}")
            return Outcome(ok=True, dry_run=True, body=flag_body(
                percentage=current.effective, previous=current.effective, direction="down",
                plan=[{"unit": r.unit.name} for r in runs]))
        holder: dict[str, Any] = {}
        try:
            with executing(run, PHASE, lock_wait) as ex:
                holder["ex"] = ex
                down = flag_mod.observe(fleet, runs, current)
                reachable = [r for r in runs if r.unit.name not in down]
                details = rollout_details(current, target, direction="down", rollback=True, flag_off=True)
                with ex.step("flag-off", details=details):
                    change = flag_mod.Change(reachable, target, env.batches.size, Journal(ex).step, ex,
                                             run.out.info, revert_on_failure=False)
                    change.run(fleet)
                    if down:
                        raise StepFailed("not switched off (unreachable): "
                                         + "; ".join(f"{k}: {v}" for k, v in down.items()))
                flag_journal.record_rollout(ex.db, env.name, run.actor, details)
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise
            report_units(run.out, runs, "Where the flag is now", fleet)
            return Outcome.failure(exc, flag_body(previous=current.effective, direction="down",
                                                  units=[r.row() for r in runs]), holder.get("ex"))
    report_units(run.out, runs, "The flag is off")
    return Outcome(ok=True, body=flag_body(percentage=0, previous=current.effective, direction="down",
                                           units=[r.row() for r in runs],
                                           note=f"feature off everywhere (percentage {target.percentage} kept)"))


# -- command mode: publish the previous build again ---------------------------------------------------
def republish(run: Run, site: Site, to: str | None, dry_run: bool, lock_wait: float) -> Outcome:
    env = run.env
    publisher = site.publisher
    with connect(run.database, Path(env.root)) as db:
        journaled = flag_journal.read(db, env.name)
        published = flag_journal.published_releases(db, env.name, publisher.app)
    live = published[0] if published else None
    older = sorted((r for r in published if live and r < live), reverse=True)
    target = to or (older[0] if older else None)
    if target is None:
        raise ConfigError(f"no earlier published web release to go back to (published: {', '.join(published) or 'none'}); "
                          "choose one with --to RELEASE")
    if not publisher.release_dir(target).is_dir():
        raise ConfigError(f"release {target} is not on this machine ({publisher.release_dir(target)})")
    state = journaled.state or site.configured
    if dry_run:
        run.out.line(f"rollback.frontend: publish {target} again (live: {live}) - dry run, nothing changes")
        run.out.line(f"  run     (in {publisher.release_dir(target)}) {publisher.command('<env file>')}")
        return Outcome(ok=True, dry_run=True, body=flag_body(release=target, plan=[{"publish": target}]))
    with executing(run, PHASE, lock_wait) as ex:
        ex.release = target
        if live:
            ex.on_failure(f"publish {live} again", lambda: publisher.publish(live, state))
        with ex.step("publish", release=target, details={"app": publisher.app, "rollback": True}) as notes:
            gate = publisher.publish(target, state)
            notes["check"] = gate.as_dict()
            if not gate.ok:
                raise StepFailed(f"published {target} but {gate.url}: {gate.reason}")
    return Outcome(ok=True, body=flag_body(release=target, note=f"published {target} again (was {live})"))

"""Phase 2 (the API release) and rollback.backend, on the release engine (deploy.engine).

    deploy.phase2     build once -> upload + verify on every API host -> batch by batch:
                      drain at the LB, switch `current`, restart, health gate, back in the LB
                      -> smoke checks -> prune old releases
    rollback.backend  the same rolling switch to the previous release (or --to RELEASE)

Each host's undo is registered with the executor when its turn starts, so any failure (a gate,
a crashed host, Ctrl-C) puts every host this run touched back on what it ran before, and
leaves the hosts it never reached alone. The result carries a per-host table of what each runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy.releases import artifact as artifacts
from deploy.flag import journal as flag_journal
from deploy.gates import health as gates
from deploy.lb import leftovers as lb_leftovers
from deploy.releases import steps as releases
from deploy.engine import side_by_side
from deploy.run import Run
from deploy.commands.release import HostReleases
from deploy.engine import plan, rollback, targets
from deploy.engine.context import AppContext, Journal, smoke_token
from deploy.engine.results import Outcome, release_body, table
from deploy.engine.roll import report_where_now, roll, runs_for, smoke
from deploy.engine.ship import ReadAhead, look, prune, upload
from deploy.engine.runs import HostRun
from deploy.errors import DeployError, StepFailed
from deploy.executor import Executor, executing
from deploy.hosts.fleet import Fleet, Host
from deploy.secrets import Secret

APP = "api"
PHASE = "phase2"
ROLLBACK_PHASE = "rollback-backend"



# -- deploy.phase2 -----------------------------------------------------------------------------------
def phase2(run: Run, artifact: str | None = None, dry_run: bool = False, lock_wait: float = 0,
           app: str = APP) -> Outcome:
    """Release the API: build once, upload, then roll it out batch by batch (see module doc)."""
    env = run.env
    ctx = AppContext.load(env, app)
    given = artifacts.check_given(artifact)
    token = smoke_token(ctx, mint=not dry_run)
    with Fleet(env, ctx.hosts) as fleet:
        runs = runs_for(fleet)
        if dry_run:
            ctx.env_overrides = flag_journal.live_env_quietly(run)
            release = artifacts.planned_release(env, app, given)
            plan.target_release(fleet, ctx, runs, release)
            if side_by_side.chosen(ctx):   # each host's serving slot: the release boots in the other
                side_by_side.read_slots(fleet, ctx, runs)
            return plan.release_plan(run, ctx, runs, release, given)
        ctx.check_lb()
        holder: dict[str, Any] = {}
        try:
            with executing(run, PHASE, lock_wait) as ex:
                holder["ex"] = ex
                return _deploy(run, ctx, fleet, runs, ex, given, token, holder)
        except KeyboardInterrupt:
            report_where_now(run, ctx, fleet, runs, holder.get("release"))
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise  # lock held (3), bad input (2): nothing was changed
            return failed(run, ctx, fleet, runs, holder, exc)


def _deploy(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], ex: Executor,
            given: Path | None, token: Secret | None, holder: dict) -> Outcome:
    journal = Journal(ex)
    beside = side_by_side.chosen(ctx)   # issue 12.2: boot beside the old release, then move the LB
    ctx.env_overrides = flag_journal.live_env(ex.db, ctx.env.name)
    run.out.info("phase 2: building the artifact ..." if given is None else f"phase 2: packing {given} ...")
    # the SSH handshakes and each host's first read (releases; free space or the serving slot)
    # overlap the build: under the lock already, read-only
    ahead = ReadAhead(fleet, side_by_side.read_host(ctx) if beside else lambda host: look(host, ctx))
    try:
        with ex.step("build") as notes:
            built = artifacts.prepare(ctx.env, ctx.app, given)
            notes.update(built.manifest.as_dict())
    finally:
        ahead.join()
    release = holder["release"] = ex.release = built.manifest.release
    run.out.info(f"release {release}: {built.manifest.size / 1e6:.1f} MB, sha256 {built.manifest.sha256[:12]}...")

    if beside:
        smoke, pruned = side_by_side.release(run, ctx, fleet, runs, ex, journal, built, token, ahead)
    else:
        upload(run, ctx, fleet, runs, built, journal, ex, ahead)
        for r in runs.values():
            r.target, r.previous = release, r.before.current
        roll(run, ctx, fleet, runs, journal, ex, with_env=True)
        smoke = smoke_checks(run, ctx, ex, release, token)
        pruned = prune(run, ctx, fleet, runs, journal, release)
    for r in runs.values():
        r.now = release
    table(run, "Phase 2 done", runs, release)
    return Outcome(ok=True, body=release_body(release, runs, built.manifest.as_dict(),
                                              [s.as_dict() for s in smoke], pruned))


def smoke_checks(run: Run, ctx: AppContext, ex: Executor, release: str,
                 token: Secret | None) -> list[gates.SmokeResult]:
    """The runbook's step 2.2 against every API host, after the last batch."""
    return smoke(run, ctx, ex, [releases.base_url(ctx.env, ctx.app, h) for h in ctx.hosts], release, token)


# -- rollback.backend ---------------------------------------------------------------------------------
def rollback_backend(run: Run, to: str | None = None, dry_run: bool = False, lock_wait: float = 0,
                     ctx: AppContext | None = None) -> Outcome:
    """Every API host back on its previous release (or `to`), rolling and health-gated."""
    return rollback.rollback(run, ctx or AppContext.load(run.env, APP), to, dry_run, lock_wait, ROLLBACK_PHASE)


# -- deploy.releases -------------------------------------------------------------------------------------
def list_releases(run: Run, app: str = APP, only: tuple[list[str], list[str]] = ([], [])) -> list[dict]:
    """Per host (`only`: --host and --role names): its releases, oldest first, current and previous marked."""
    env = run.env
    layout = releases.layout_for(env, app)
    hosts = targets.select(env, env.hosts_with(releases.app_config(env, app).role), *only, what=app)
    found: dict[str, HostReleases] = {}

    def look(host: Host) -> None:
        found[host.name] = releases.inspect(host, layout)

    with Fleet(env, hosts) as fleet:
        result = fleet.run(look, size=len(fleet.hosts) or 1, max_fail=len(fleet.hosts))
    down = {o.host: o.error or "failed" for o in result.failed}
    rows = []
    for host in hosts:
        before = found.get(host.name, HostReleases())
        rows.append({"host": host.name, "reachable": host.name not in down, "error": down.get(host.name),
                     "current": before.current, "previous": before.previous,
                     "releases": [{"id": rel, "current": rel == before.current, "previous": rel == before.previous}
                                  for rel in before.releases]})
    return rows


# -- results ------------------------------------------------------------------------------------------------
def failed(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], holder: dict,
           exc: BaseException) -> Outcome:
    """After the executor undid what it could: what each host runs now, and why we stopped."""
    release = holder.get("release")
    report_where_now(run, ctx, fleet, runs, release)
    outcome = Outcome.failure(exc, release_body(release, runs), holder.get("ex"))
    outcome.error = lb_leftovers.with_note(outcome.error, ctx, runs)   # hosts the LB may still hold in maint
    return outcome


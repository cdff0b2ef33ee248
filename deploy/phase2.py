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

from deploy import artifact as artifacts
from deploy import flag_journal, gates, releases
from deploy.cli import Run
from deploy.commands import release as rc
from deploy.commands.release import HostReleases
from deploy.engine import plan, targets
from deploy.engine.context import AppContext, Journal, smoke_token
from deploy.engine.results import Outcome, host_rows, table
from deploy.engine.roll import observe, raise_failed, report_where_now, roll, runs_for
from deploy.engine.runs import HostRun
from deploy.errors import ConfigError, DeployError, StepFailed
from deploy.executor import Executor, executing
from deploy.hosts import Fleet, Host
from deploy.secrets import Secret

APP = "api"
PHASE = "phase2"
ROLLBACK_PHASE = "rollback-backend"

Context = AppContext


# -- deploy.phase2 -----------------------------------------------------------------------------------
def phase2(run: Run, artifact: str | None = None, dry_run: bool = False, lock_wait: float = 0,
           app: str = APP) -> Outcome:
    """Release the API: build once, upload, then roll it out batch by batch (see module doc)."""
    env = run.env
    ctx = AppContext.load(env, app)
    given = artifacts.check_given(artifact)
    token = smoke_token(ctx)
    with Fleet(env, ctx.hosts) as fleet:
        runs = runs_for(fleet)
        if dry_run:
            ctx.env_overrides = flag_journal.live_env_quietly(run)
            release = artifacts.planned_release(env, app, given)
            plan.target_release(fleet, ctx, runs, release)
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
    ctx.env_overrides = flag_journal.live_env(ex.db, ctx.env.name)
    run.out.info("phase 2: building the artifact ..." if given is None else f"phase 2: packing {given} ...")
    with ex.step("build") as notes:
        built = artifacts.prepare(ctx.env, ctx.app, given)
        notes.update(built.manifest.as_dict())
    release = holder["release"] = ex.release = built.manifest.release
    run.out.info(f"release {release}: {built.manifest.size / 1e6:.1f} MB, sha256 {built.manifest.sha256[:12]}...")

    upload(run, ctx, fleet, runs, built, journal, ex)
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


def release_body(release: str | None, runs: dict[str, HostRun], manifest: dict | None = None,
                 smoke: list | None = None, pruned: dict | None = None) -> dict:
    """What --json shows of a release or a rollback of one."""
    return {"release": release, "hosts": host_rows(runs), "manifest": manifest, "smoke": smoke or [],
            "pruned": pruned or {}}


def upload(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], built: artifacts.Artifact,
           journal: Journal, ex: Executor) -> None:
    """To every host at once, before any switch: nothing that runs changes here."""
    release = built.manifest.release

    def work(host: Host) -> None:
        r = runs[host.name]
        with journal.step("upload", host=host.name, release=release) as notes:
            r.before = releases.inspect(host, ctx.layout)
            notes["before"] = r.before.current
            prepare, *rest = releases.upload_steps(
                ctx.env, ctx.app, host.config, release, built.path, built.manifest.sha256,
                built.manifest.git_sha, ctx.manager, ctx.program, ctx.env_overrides)
            releases.apply(host, [prepare])   # refuses a release id the host already has ...
            ex.on_failure(f"remove release {release} from {host.name}",   # ... so this removes only ours
                          lambda: releases.remove_unless_current(host, ctx.layout, release))
            releases.apply(host, rest)
            r.uploaded = True
        run.out.info(f"{host.name}: uploaded and verified {release}")

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    raise_failed(result, "upload")


def smoke_checks(run: Run, ctx: AppContext, ex: Executor, release: str,
                 token: Secret | None) -> list[gates.SmokeResult]:
    """The runbook's step 2.2 against every API host, after the last batch."""
    if not ctx.spec.checks:
        return []
    bases = [releases.base_url(ctx.env, ctx.app, h) for h in ctx.hosts]
    with ex.step("smoke", release=release) as notes:
        results = gates.run_smoke(ctx.spec, bases, token)
        notes["checks"] = [r.as_dict() for r in results]
        for result in results:
            run.out.item("pass" if result.ok else "fail", f"smoke: {result.name}", f"{result.url}: {result.detail}")
        failed = [r for r in results if not r.ok]
        if failed:
            first = failed[0]
            raise StepFailed(f"smoke check {first.name!r} failed at {first.url}: {first.detail}"
                             + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""))
    return results


def prune(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], journal: Journal,
          release: str) -> dict[str, list[str]]:
    """Keep env.keep_releases per host, never current or previous. A failure only warns."""
    def work(host: Host) -> list[str]:
        before = runs[host.name].before
        doomed = rc.prunable([*before.releases, release], ctx.env.keep_releases, release, before.current)
        with journal.step("prune", host=host.name, release=release) as notes:
            notes["removed"] = doomed
            if doomed:
                host.run(rc.prune(ctx.layout, doomed), timeout=300)
        return doomed

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    for failure in result.failed:
        run.out.warn(f"{failure.host}: old releases not pruned: {failure.error}")
    return {o.host: o.value for o in result.outcomes if o.ok and o.value}


# -- rollback.backend ---------------------------------------------------------------------------------
def rollback_backend(run: Run, to: str | None = None, dry_run: bool = False, lock_wait: float = 0,
                     app: str = APP, phase: str = ROLLBACK_PHASE, ctx: AppContext | None = None) -> Outcome:
    """Every API host back on its previous release (or `to`), rolling and health-gated."""
    env = run.env
    if to is not None and not rc.valid_release_id(to):
        raise ConfigError(f"--to {to!r} is not a release id")
    ctx = ctx or AppContext.load(env, app)
    with Fleet(env, ctx.hosts) as fleet:
        runs = runs_for(fleet)
        plan_rollback(fleet, ctx, runs, to)
        if dry_run:
            return plan.release_plan(run, ctx, runs, to or "previous", None, rollback=True)
        ctx.check_lb()
        holder: dict[str, Any] = {"release": to}
        try:
            with executing(run, phase, lock_wait) as ex:
                holder["ex"] = ex
                plan_rollback(fleet, ctx, runs, to)   # again under the lock: a deploy may have ended
                roll(run, ctx, fleet, runs, Journal(ex), ex, with_env=False)
        except KeyboardInterrupt:
            report_where_now(run, ctx, fleet, runs, None)
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise
            return failed(run, ctx, fleet, runs, holder, exc)
    for r in runs.values():
        r.now = r.target
    table(run, "Rolled back", runs, None)
    return Outcome(ok=True, body=release_body(to, runs))


def plan_rollback(fleet: Fleet, ctx: AppContext, runs: dict[str, HostRun], to: str | None) -> None:
    """Each host's target and its `previous` after the switch; refuses before anything changes."""
    down = observe(fleet, ctx, runs)
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
    return Outcome.failure(exc, release_body(release, runs), holder.get("ex"))


# the names the web release, restart and phase 3 still take from here (they move onto the engine next)
from deploy.engine.turn import explained  # noqa: E402
_smoke_token = smoke_token
dry_run_outcome = plan.release_plan

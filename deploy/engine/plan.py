"""--dry-run: the steps a run would apply, host by host, as the engine builds them (secrets as ***).

Nothing here runs a step: the per-host lists come from the same builders the engine applies
(releases.upload_steps, the context's strategy), printed through each step's own `show`.
"""

from __future__ import annotations

from pathlib import Path

from deploy.releases import artifact as artifacts
from deploy.releases import steps as releases
from deploy.run import Run
from deploy.commands.release import HostReleases
from deploy.engine.context import AppContext
from deploy.engine.results import Outcome
from deploy.engine.roll import observe
from deploy.engine.runs import HostRun
from deploy.engine.steps import lines
from deploy.engine.strategy import Pair, SideBySide, stop_old_steps
from deploy.errors import DeployError
from deploy.hosts.fleet import Fleet, batches

PENDING_SHA = "<sha256 of the artifact>"


def target_release(fleet: Fleet, ctx: AppContext, runs: dict[str, HostRun], release: str) -> None:
    """Every host read (read-only) and aimed at `release`; a host that did not answer says so."""
    down = observe(fleet, ctx, runs)
    for r in runs.values():
        r.target, r.previous = release, (r.before.current if r.before else None)
        r.note = f"unreachable: {down[r.name]}" if r.name in down else ""


def header(run: Run, ctx: AppContext, what: str, names: list[str]) -> None:
    env = ctx.env
    run.out.line(f"{what} - dry run, nothing changes")
    # a rolling release or restart starts no batch after one with a failed host (batches.max_fail
    # does not apply: the failed run is undone, or the failed host stays out of the LB)
    run.out.line(f"hosts: {', '.join(names)}; batches of {env.batches.size}, none after a failed one"
                 + f"; process manager {ctx.manager.name}"
                 + (f"; load balancer {ctx.lb.endpoint} (backend {ctx.backend})" if ctx.lb else ""))


def host_steps(ctx: AppContext, r: HostRun, release: str | None = None, upload: bool = False,
               tarball: Path | None = None) -> list[str]:
    """One host's lines: the upload (a release), then its turn as ctx.strategy builds it."""
    before = r.before or HostReleases()
    steps: list[str] = []
    beside = isinstance(ctx.strategy, SideBySide)
    if upload and beside:   # into the slot that does not serve (deploy.engine.side_by_side)
        from deploy.engine.side_by_side import upload_steps
        steps += lines(upload_steps(ctx, r.config, Pair.of(ctx, r), release, tarball, PENDING_SHA, None))
    elif upload:
        steps += lines(releases.upload_steps(ctx.env, ctx.app, r.config, release, tarball, PENDING_SHA, None,
                                             ctx.manager, ctx.program, ctx.env_overrides))
    if r.target == before.current:
        return steps + [f"skip    already on {r.target}"]
    return steps + lines(ctx.strategy.turn(ctx, r, switch=True, with_env=upload))


def release_plan(run: Run, ctx: AppContext, runs: dict[str, HostRun], release: str, given: Path | None,
                 rollback: bool = False, smoke: bool = True) -> Outcome:
    """A release (phase 2, the web release) or a rollback of one, host by host."""
    env = ctx.env
    out = run.out
    what = ("rollback.backend" if ctx.app == "api" else f"rollback of {ctx.app}") if rollback \
        else f"{'phase 2: ' if ctx.app == 'api' else ''}release {release} of {ctx.app}"
    header(run, ctx, what, [r.name for r in runs.values()])
    if ctx.lb:
        try:
            ctx.check_lb()
        except DeployError as exc:
            out.warn(f"a run would stop here: {exc}")
    if not rollback:
        build = ctx.config.commands.build
        if given is not None:
            out.line(f"artifact: {given} (packed as {release}.tar.gz)")
        elif build:
            out.line(f"build (local): {build}  in {ctx.config.source}")
        else:
            out.line(f"artifact: the source folder {ctx.config.source} as it is")
    plan = []
    tarball = artifacts.artifacts_dir(env, ctx.app) / f"{release}.tar.gz"
    for r in runs.values():
        before = r.before or HostReleases()
        out.line("")
        state = r.note or f"now {before.current or 'nothing'}, previous {before.previous or 'none'}"
        out.line(f"{r.name} ({releases.host_address(r.config)}): {state}")
        steps = host_steps(ctx, r, release, upload=not rollback, tarball=tarball)
        for line in steps:
            out.line(f"  {line}")
        plan.append({"host": r.name, "before": before.current, "target": r.target, "steps": steps})
    beside = isinstance(ctx.strategy, SideBySide)
    moving = [r for r in runs.values() if r.target != (r.before or HostReleases()).current]
    if not rollback or (beside and moving):
        out.line("")
        out.line("after the last batch:")
    if not rollback:
        # side by side: the smoke checks reach each host's new slot
        bases = [Pair.of(ctx, r).base_url() for r in runs.values()] if beside else \
            [releases.base_url(env, ctx.app, h) for h in ctx.hosts]
        for base in (b for b in bases if smoke):
            for check in ctx.spec.checks:
                auth = " with a bearer token" if check.auth == "bearer" else ""
                out.line(f"  smoke   {check.method} {base}{check.path}{auth} -> {check.expect}")
    if beside:   # then the old slots stop (deploy.engine.side_by_side.stop_old_slots)
        for r in moving:
            for line in lines(stop_old_steps(ctx, r.name, Pair.of(ctx, r))):
                out.line(f"  {r.name}: {line}")
    if not rollback:
        out.line(f"  prune   keep {env.keep_releases} releases per host (never current or previous)")
    return Outcome(ok=True, dry_run=True, body={
        "release": release, "plan": plan,
        "hosts": [{"host": r.name, "before": r.before.current if r.before else None, "target": r.target}
                  for r in runs.values()]})


def restart_plan(run: Run, ctx: AppContext, runs: dict[str, HostRun]) -> Outcome:
    """invoke restart: batch by batch and host by host, the turn on the release each runs."""
    planned = []
    for number, batch in enumerate(batches(list(runs.values()), ctx.env.batches.size), 1):
        for r in batch:
            planned.append({"host": r.name, "batch": number, "release": r.target, "pid": r.pid_before,
                            "steps": lines(ctx.strategy.turn(ctx, r, switch=False))})
    header(run, ctx, f"restart of {ctx.app}", list(runs))
    for row in planned:
        run.out.line("")
        run.out.line(f"batch {row['batch']}: {row['host']} on {row['release']} (pid {row['pid'] or '-'})")
        for line in row["steps"]:
            run.out.line(f"  {line}")
    return Outcome(True, body={"app": ctx.app, "hosts": planned}, dry_run=True)

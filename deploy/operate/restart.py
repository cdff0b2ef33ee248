"""`invoke restart`: the runbook's `pm2 restart marketplace-api`, without the downtime.

Batch by batch (env.batches.size), the engine's turn without the switch (deploy.engine): drain
the host at the load balancer (when one is configured), restart the app through the process
manager, health gate (the release the host runs must answer healthy, `passes` times in a row),
back into the load balancer. Under the deploy lock, journaled as phase "restart" (drain,
restart, health, ready per host).

A restart has nothing to undo, so a host that fails stays as it is - out of the load balancer
when it was drained - and the roll stops after its batch: later batches are not touched
(env.batches.max_fail does not apply). The result says what each host is in now.
"""

from __future__ import annotations

from deploy.releases import steps as releases
from deploy.run import Run
from deploy.engine import plan, targets
from deploy.engine.context import AppContext, Journal
from deploy.engine.results import Outcome
from deploy.engine.roll import roll, runs_for
from deploy.engine.runs import HostRun
from deploy.errors import ConfigError, DeployError, StepFailed
from deploy.executor import executing
from deploy.hosts.fleet import Fleet, Host
from deploy.secrets import mask
from deploy.engine.side_by_side import serving_slot

PHASE = "restart"


def state(r: HostRun, lb: bool) -> str:
    """What the host is in now, in words."""
    out = "; out of the load balancer (maint)" if lb and r.drained and not r.in_service else ""
    if r.in_service:
        return "restarted, healthy" + (", back in the load balancer" if lb else "")
    if r.gate is not None and not r.gate.ok:
        return f"restarted, NOT healthy ({r.gate.reason}){out}"
    if r.restarted:
        return f"restarted, healthy, but not back in the load balancer ({r.error}){out}"
    if r.drained:
        return f"restart failed ({r.error}){out}" if r.error else f"drained, not restarted{out}"
    return "untouched"


def row(r: HostRun, lb: bool) -> dict:
    return {"host": r.name, "release": r.target, "pid_before": r.pid_before, "pid_after": r.pid_after,
            "restarted": r.restarted, "in_service": r.in_service, "state": state(r, lb),
            "health": r.gate.as_dict() if r.gate else None, "error": r.error}


def restart(run: Run, app: str = "api", lock_wait: float = 0, dry_run: bool = False,
            hosts: list[str] | None = None, roles: list[str] | None = None) -> Outcome:
    """Restart the app on its hosts, rolling and health-gated (see module doc)."""
    env = run.env
    if app not in env.apps:
        raise ConfigError(f"unknown app {app!r} (apps of {env.name}: {', '.join(env.apps) or 'none'})")
    if env.apps[app].mode != "process":
        raise ConfigError(f"apps.{app} is served as {env.apps[app].mode} files: there is no process to restart")
    ctx = AppContext.load(env, app)
    ctx.hosts = targets.select(env, ctx.hosts, hosts or [], roles or [], f"{app}")
    with Fleet(env, ctx.hosts) as fleet:
        runs = runs_for(fleet)
        observe(fleet, ctx, runs)          # refusals come before anything changes ...
        if dry_run:
            return plan.restart_plan(run, ctx, runs)
        ctx.check_lb()
        try:
            with executing(run, PHASE, lock_wait) as ex:
                observe(fleet, ctx, runs)  # ... and again under the lock: a deploy may have ended
                roll(run, ctx, fleet, runs, Journal(ex), None, switch=False, max_fail=0,
                     pid=lambda host: pid_of(host, ctx, runs[host.name].slot), done=restarted, what="restart")
        except KeyboardInterrupt:
            report(run, ctx, runs, "Stopped (interrupted)")
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise   # lock held (3), bad input (2): nothing was changed
            report(run, ctx, runs, "Restart stopped")
            return Outcome(False, body(ctx, runs), error=stopped_reason(ctx, runs, exc), exit_code=1)
    report(run, ctx, runs, "Restarted")
    return Outcome(True, body(ctx, runs))


def body(ctx: AppContext, runs: dict[str, HostRun]) -> dict:
    return {"app": ctx.app, "hosts": [row(r, bool(ctx.lb)) for r in runs.values()]}


def restarted(r: HostRun) -> str:
    return (f"{r.name}: restarted (pid {r.pid_before or '-'} -> {r.pid_after or '-'}), healthy on "
            f"{r.target} ({r.gate.attempts} polls, {r.gate.seconds:.1f}s)")


def observe(fleet: Fleet, ctx: AppContext, runs: dict[str, HostRun]) -> None:
    """Each host's release and pid; refuses (nothing changed) if a host cannot say."""
    def look(host: Host) -> None:
        r = runs[host.name]
        r.target = releases.current_release(host, ctx.env, ctx.app)
        r.slot = serving_slot(host, ctx.env, ctx.app)   # side by side: the slot's process serves
        r.pid_before = pid_of(host, ctx, r.slot)

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    if result.failed:
        raise StepFailed("cannot read " + "; ".join(f"{o.error}" for o in result.failed)
                         + " - nothing was changed")
    bare = [r.name for r in runs.values() if not r.target]
    if bare:
        raise ConfigError(f"{', '.join(bare)}: {ctx.app} is not deployed there (no current release); "
                          "nothing to restart - deploy it first")


def pid_of(host: Host, ctx: AppContext, slot=None) -> int | None:
    """The pid of the process that serves (side by side: the serving slot's)."""
    process = slot.process if slot is not None else ctx.program.process
    res = host.run(ctx.manager.status_command([process]), check=False, timeout=30)
    states = ctx.manager.parse_status(res.stdout + res.stderr, res.exit_code)
    return ctx.manager.state_of(states, process).pid


def stopped_reason(ctx: AppContext, runs: dict[str, HostRun], exc: BaseException) -> str:
    """One line: why the roll stopped, then what every host is in now."""
    lb = bool(ctx.lb)
    states = "; ".join(f"{r.name}: {state(r, lb)}" for r in runs.values() if r.error is None)
    failed = "; ".join(f"{r.name}: {state(r, lb)}" for r in runs.values() if r.error is not None)
    return f"{failed or mask(str(exc))} - {states}" if states else (failed or mask(str(exc)))


def report(run: Run, ctx: AppContext, runs: dict[str, HostRun], title: str) -> None:
    lb = bool(ctx.lb)
    rows = [(r.name, r.target or "-", r.pid_before or "-", r.pid_after or "-", state(r, lb))
            for r in runs.values()]
    run.out.table(title, ["host", "release", "pid before", "pid after", "now"], rows)

"""`invoke restart`: the runbook's `pm2 restart marketplace-api`, without the downtime.

Batch by batch (env.batches.size): drain the host at the load balancer (when one is configured),
restart the app through the process manager, health gate (the release the host runs must answer
healthy, `passes` times in a row), back into the load balancer. Under the deploy lock, journaled
as phase "restart" (drain, restart, health, ready per host).

A restart has nothing to undo, so a host that fails stays as it is - out of the load balancer
when it was drained - and the roll stops after its batch: later batches are not touched
(env.batches.max_fail does not apply). The result says what each host is in now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy import gates, releases, targets, worker_gate
from deploy.cli import Run
from deploy.commands import haproxy
from deploy.errors import ConfigError, DeployError, StepFailed
from deploy.executor import executing
from deploy.hosts import Fleet, Host, batches
from deploy.phase2 import Context, Journal, explained
from deploy.secrets import mask

PHASE = "restart"


@dataclass
class HostRestart:
    """One host's turn (filled in by the worker threads)."""

    name: str
    release: str | None = None       # what the host runs: the version its health must report
    pid_before: int | None = None
    pid_after: int | None = None
    drained: bool = False            # taken out of the load balancer by this run
    restarted: bool = False
    gate: gates.GateResult | None = None
    in_service: bool = False         # restarted, healthy and (with a load balancer) back in it
    error: str | None = None

    def state(self, lb: bool) -> str:
        """What the host is in now, in words."""
        out = "; out of the load balancer (maint)" if lb and self.drained and not self.in_service else ""
        if self.in_service:
            return "restarted, healthy" + (", back in the load balancer" if lb else "")
        if self.gate is not None and not self.gate.ok:
            return f"restarted, NOT healthy ({self.gate.reason}){out}"
        if self.restarted:
            return f"restarted, healthy, but not back in the load balancer ({self.error}){out}"
        if self.drained:
            return f"restart failed ({self.error}){out}" if self.error else f"drained, not restarted{out}"
        return "untouched"

    def as_dict(self, lb: bool) -> dict:
        return {"host": self.name, "release": self.release, "pid_before": self.pid_before,
                "pid_after": self.pid_after, "restarted": self.restarted, "in_service": self.in_service,
                "state": self.state(lb), "health": self.gate.as_dict() if self.gate else None,
                "error": self.error}


@dataclass
class Outcome:
    ok: bool
    app: str
    hosts: list[dict] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict:
        data: dict[str, Any] = {"app": self.app, "hosts": self.hosts}
        if self.dry_run:
            data["dry_run"] = True
        if not self.ok:
            data.update(error=self.error, _exit_code=self.exit_code)
        return data


def restart(run: Run, app: str = "api", lock_wait: float = 0, dry_run: bool = False,
            hosts: list[str] | None = None, roles: list[str] | None = None) -> Outcome:
    """Restart the app on its hosts, rolling and health-gated (see module doc)."""
    env = run.env
    if app not in env.apps:
        raise ConfigError(f"unknown app {app!r} (apps of {env.name}: {', '.join(env.apps) or 'none'})")
    if env.apps[app].mode != "process":
        raise ConfigError(f"apps.{app} is served as {env.apps[app].mode} files: there is no process to restart")
    ctx = Context.load(env, app)
    ctx.hosts = targets.select(env, ctx.hosts, hosts or [], roles or [], f"{app}")
    with Fleet(env, ctx.hosts) as fleet:
        runs = {h.name: HostRestart(h.name) for h in fleet.hosts}
        observe(fleet, ctx, runs)          # refusals come before anything changes ...
        if dry_run:
            return show_plan(run, ctx, runs)
        ctx.check_lb()
        try:
            with executing(run, PHASE, lock_wait) as ex:
                observe(fleet, ctx, runs)  # ... and again under the lock: a deploy may have ended
                roll(run, ctx, fleet, runs, Journal(ex))
        except KeyboardInterrupt:
            report(run, ctx, runs, "Stopped (interrupted)")
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise   # lock held (3), bad input (2): nothing was changed
            report(run, ctx, runs, "Restart stopped")
            return Outcome(False, app, [r.as_dict(bool(ctx.lb)) for r in runs.values()],
                           error=stopped_reason(ctx, runs, exc), exit_code=1)
    report(run, ctx, runs, "Restarted")
    return Outcome(True, app, [r.as_dict(bool(ctx.lb)) for r in runs.values()])


def plan(ctx: Context, runs: dict[str, HostRestart]) -> list[dict]:
    """What a run would do, batch by batch and host by host (the commands a run sends)."""
    planned = []
    for number, batch in enumerate(batches(list(runs.values()), ctx.env.batches.size), 1):
        for r in batch:
            steps: list[str] = []
            if ctx.lb:
                steps += [f"lb      {haproxy.set_state(ctx.backend, r.name, 'drain')}",
                          f"lb      wait for 0 sessions (at most {ctx.spec.drain.deadline:g}s)",
                          f"lb      {haproxy.set_state(ctx.backend, r.name, 'maint')}"]
            steps += [s.show() for s in releases.restart_steps(ctx.manager, ctx.program)]
            h = ctx.spec.health
            config = next(c for c in ctx.hosts if c.name == r.name)
            steps.append(f"gate    GET {ctx.health_url(config)} until 200 with version {r.release}, "
                         f"{h.passes} in a row within {h.deadline:g}s")
            if ctx.lb:
                steps.append(f"lb      {haproxy.set_state(ctx.backend, r.name, 'ready')}")
            planned.append({"host": r.name, "batch": number, "release": r.release, "pid": r.pid_before,
                            "steps": steps})
    return planned


def show_plan(run: Run, ctx: Context, runs: dict[str, HostRestart]) -> Outcome:
    planned = plan(ctx, runs)
    out = run.out
    out.line(f"restart of {ctx.app} - dry run, nothing changes")
    out.line(f"hosts: {', '.join(runs)}; batches of {ctx.env.batches.size}; process manager {ctx.manager.name}"
             + (f"; load balancer {ctx.lb.endpoint} (backend {ctx.backend})" if ctx.lb else ""))
    for row in planned:
        out.line("")
        out.line(f"batch {row['batch']}: {row['host']} on {row['release']} (pid {row['pid'] or '-'})")
        for line in row["steps"]:
            out.line(f"  {line}")
    return Outcome(True, ctx.app, planned, dry_run=True)


def observe(fleet: Fleet, ctx: Context, runs: dict[str, HostRestart]) -> None:
    """Each host's release and pid; refuses (nothing changed) if a host cannot say."""
    def look(host: Host) -> None:
        r = runs[host.name]
        r.release = releases.current_release(host, ctx.env, ctx.app)
        r.pid_before = pid_of(host, ctx)

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    if result.failed:
        raise StepFailed("cannot read " + "; ".join(f"{o.error}" for o in result.failed)
                         + " - nothing was changed")
    bare = [r.name for r in runs.values() if not r.release]
    if bare:
        raise ConfigError(f"{', '.join(bare)}: {ctx.app} is not deployed there (no current release); "
                          "nothing to restart - deploy it first")


def pid_of(host: Host, ctx: Context) -> int | None:
    res = host.run(ctx.manager.status_command([ctx.program.process]), check=False, timeout=30)
    states = ctx.manager.parse_status(res.stdout + res.stderr, res.exit_code)
    return ctx.manager.state_of(states, ctx.program.process).pid


def roll(run: Run, ctx: Context, fleet: Fleet, runs: dict[str, HostRestart], journal: Journal) -> None:
    """Batch by batch: drain, restart, health gate, ready; stop after a batch with a failure."""
    def work(host: Host) -> None:
        r = runs[host.name]
        try:
            turn(ctx, host, r, journal)
        except Exception as exc:
            r.error = mask(str(exc)) or type(exc).__name__
            raise
        run.out.info(f"{host.name}: restarted (pid {r.pid_before or '-'} -> {r.pid_after or '-'}), healthy on "
                     f"{r.release} ({r.gate.attempts} polls, {r.gate.seconds:.1f}s)")

    def announce(batch: list[Host]) -> None:
        run.out.info(f"batch: {', '.join(h.name for h in batch)}")

    result = fleet.run(work, size=ctx.env.batches.size, max_fail=0, on_batch=announce)
    if not result.ok:
        failed = result.failed
        raise StepFailed(f"restart failed on {', '.join(o.host for o in failed)}: "
                         + "; ".join(o.error or "failed" for o in failed))


def turn(ctx: Context, host: Host, r: HostRestart, journal: Journal) -> None:
    """One host: out of the LB, restart, health gate on the release it runs, back in the LB."""
    if ctx.lb:
        with journal.step("drain", host=host.name, release=r.release) as notes:
            r.drained = True
            drained = ctx.lb.drain(ctx.backend, host.name, ctx.spec.drain.deadline, ctx.spec.drain.interval)
            notes.update(seconds=round(drained.seconds, 2), sessions_left=drained.sessions_left)
    with journal.step("restart", host=host.name, release=r.release) as notes:
        notes["pid_before"] = r.pid_before
        with explained(host, ctx, notes):
            releases.apply(host, releases.restart_steps(ctx.manager, ctx.program))
        r.restarted = True
    with journal.step("health", host=host.name, release=r.release) as notes:
        r.gate = worker_gate.wait_ready(host, ctx.manager, ctx.program, ctx.health_url(host.config),
                                        r.release, ctx.spec.health)
        r.pid_after = pid_of(host, ctx)
        notes.update(r.gate.as_dict(), pid_after=r.pid_after)
        if not r.gate.ok:
            with explained(host, ctx, notes):
                raise StepFailed(f"{host.name}: health gate: {r.gate.reason}")
    if ctx.lb:
        with journal.step("ready", host=host.name, release=r.release):
            ctx.lb.ready(ctx.backend, host.name)
    r.in_service = True


def stopped_reason(ctx: Context, runs: dict[str, HostRestart], exc: BaseException) -> str:
    """One line: why the roll stopped, then what every host is in now."""
    lb = bool(ctx.lb)
    states = "; ".join(f"{r.name}: {r.state(lb)}" for r in runs.values() if r.error is None)
    failed = "; ".join(f"{r.name}: {r.state(lb)}" for r in runs.values() if r.error is not None)
    return f"{failed or mask(str(exc))} - {states}" if states else (failed or mask(str(exc)))


def report(run: Run, ctx: Context, runs: dict[str, HostRestart], title: str) -> None:
    lb = bool(ctx.lb)
    rows = [(r.name, r.release or "-", r.pid_before or "-", r.pid_after or "-", r.state(lb))
            for r in runs.values()]
    run.out.table(title, ["host", "release", "pid before", "pid after", "now"], rows)

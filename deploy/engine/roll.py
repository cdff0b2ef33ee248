"""The fleet side of the engine: read every host, roll turns batch by batch, say where each is.

`roll` is the one rolling loop of phase 2, rollback.backend, the web release and invoke restart:
batch by batch (env.batches), each host's turn from the context's strategy, its undo registered
with the executor before anything on the host changes (a restart has none).
"""

from __future__ import annotations

from typing import Callable

from deploy.gates import health as gates
from deploy.releases import steps as releases, slots
from deploy.engine.context import AppContext
from deploy.engine.results import table
from deploy.engine.runs import HostRun
from deploy.engine.turn import Turn, undo
from deploy.errors import StepFailed
from deploy.executor import Executor
from deploy.hosts.fleet import Fleet, FleetResult, Host
from deploy.run import Run
from deploy.secrets import Secret, mask


def runs_for(fleet: Fleet) -> dict[str, HostRun]:
    return {h.name: HostRun(h.name, h.config) for h in fleet.hosts}


def observe(fleet: Fleet, ctx: AppContext, runs: dict[str, HostRun], with_slot: bool = False) -> dict[str, str]:
    """Read every host's releases (with_slot: and its serving slot, in the same round trip;
    read-only); returns the errors of hosts that did not answer."""
    def look(host: Host) -> None:
        r = runs[host.name]
        if not with_slot:
            r.before = releases.inspect(host, ctx.layout)
            return
        r.before, name = slots.parse_inspect_with_slot(host.run(slots.inspect_with_slot(ctx.layout),
                                                                timeout=30).stdout)
        r.slot = slots.slot(name, ctx.config, ctx.layout)

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    return {o.host: o.error or "failed" for o in result.failed}


def roll(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], journal,
         ex: Executor | None, with_env: bool = True, switch: bool = True, max_fail: int | None = None,
         pid: Callable[[Host], int | None] | None = None, done: Callable[[HostRun], str] | None = None,
         what: str = "rollout") -> None:
    """Batch by batch: each host's turn (ctx.strategy). With `ex`, each host's undo is registered
    before its turn starts (the undo checks what got done); a host already on its target is skipped."""
    todo = []
    for host in fleet.hosts:
        r = runs[host.name]
        if switch and r.target == r.before.current:
            r.note = f"already on {r.target}"
        else:
            todo.append(host)
    if not todo:
        return
    done = done or (lambda r: f"{r.name}: on {r.target}, healthy ({r.gate.attempts} polls, {r.gate.seconds:.1f}s)")

    def work(host: Host) -> None:
        r = runs[host.name]
        if ex is not None:
            ex.on_failure(f"put {host.name} back on {r.before.current or 'nothing'}",
                          lambda: undo(ctx, host, r, with_env))
        try:
            Turn(ctx, host, r, journal, pid=pid).apply(ctx.strategy.turn(ctx, r, switch, with_env))
        except Exception as exc:
            r.error = mask(str(exc)) or type(exc).__name__
            raise
        run.out.info(done(r))

    def announce(batch: list[Host]) -> None:
        run.out.info(f"batch: {', '.join(h.name for h in batch)}")

    if max_fail is None:
        # With an executor one failed host fails the run and the run is undone, so a later batch
        # would only be switched to be switched back: no batch starts after a failed one.
        max_fail = 0 if ex is not None else ctx.env.batches.max_fail
    result = fleet.run(work, hosts=todo, size=ctx.env.batches.size, max_fail=max_fail, on_batch=announce)
    raise_failed(result, what)


def raise_failed(result: FleetResult, what: str) -> None:
    if result.ok:
        return
    failed = result.failed
    detail = "; ".join(o.error or "failed" for o in failed) or "stopped"
    raise StepFailed(f"{what} failed on {', '.join(o.host for o in failed)}: {detail}")


def report_where_now(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], release: str | None) -> None:
    """After a failure or Ctrl-C: what each host runs now, read again, as a table."""
    def look(host: Host) -> str | None:
        return releases.current_release(host, ctx.env, ctx.app)

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    for outcome in result.outcomes:
        r = runs[outcome.host]
        before = r.before.current if r.before else None
        if not outcome.ok:
            r.now, r.note = None, f"unreachable: {outcome.error}"
            continue
        r.now = outcome.value
        if r.switched and r.now == before:
            r.note = "switched back"
        elif r.switched:
            r.note = f"NOT switched back (undo failed); runs {r.now or 'nothing'}"
        else:
            r.note = "untouched" if r.now == before else f"runs {r.now or 'nothing'}"
    table(run, "What each host runs now", runs, release)


def smoke(run: Run, ctx: AppContext, ex: Executor, bases: list[str], release: str,
          token: Secret | None) -> list[gates.SmokeResult]:
    """The runbook's smoke checks against `bases` (one per host), journaled as one step."""
    if not ctx.spec.checks:
        return []
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

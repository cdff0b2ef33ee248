"""Phase 3's human output: the per-unit table, and --dry-run's plan (the commands a run sends)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deploy import flag as flag_mod
from deploy import releases, web_release
from deploy.hosts import Fleet
from deploy.output import Output
from deploy.rollout import FlagState, Move

if TYPE_CHECKING:
    from deploy.flag_journal import Journaled
    from deploy.phase3 import Outcome, Request
    from deploy.site import Site


def report_units(out: Output, runs: list[flag_mod.UnitRun], title: str, fleet: Fleet | None = None) -> None:
    """The table of units; with `fleet`, each unit's flag is read again first (after an undo)."""
    if fleet is not None:
        _reread(fleet, runs)
    rows = []
    for r in runs:
        gate = r.gate.reason if r.gate and not r.gate.ok else (f"ok in {r.gate.seconds:.1f}s" if r.gate else "")
        rows.append((r.unit.host or "(local)", r.unit.app, r.before.describe() if r.before else "?",
                     r.now.describe() if r.now else "?", gate, r.note))
    if rows:
        out.table(title, ["host", "app", "before", "now", "check", "note"], rows)


def _reread(fleet: Fleet, runs: list[flag_mod.UnitRun]) -> None:
    for r in runs:
        try:
            r.now = r.unit.read()
        except Exception as exc:
            r.now, r.note = None, f"unreachable: {str(exc)[:120]}"
            continue
        if not r.changed:
            r.note = r.note or "untouched"
        elif r.now == r.before:
            r.note = "put back"
        else:
            r.note = f"NOT put back: {r.now.describe() if r.now else 'unknown'}"


def dry_run_outcome(run, site: "Site", fleet: Fleet, req: "Request", move: Move | None, soaks: list,
                    stop: str | None, journaled: "Journaled", web_live: str | None) -> "Outcome":
    from deploy.phase3 import Outcome

    out = run.out
    current = journaled.state or site.configured
    what = f"flag {move.describe()}" if move else "web release only"
    out.line(f"phase 3: {what} - dry run, nothing changes")
    for s in soaks:
        out.line(f"soak    {s.describe()}")
    if stop:
        out.warn(f"a run would stop here (exit 4): {stop}")
    plan: list[dict] = []
    ship = req.target is None or web_release.missing(run, site, fleet, web_live)
    gate = req.spec.gate
    up = move is not None and move.direction != "down"
    if up:
        out.line(f"gate    {gate.source}: error rate < {gate.max_error_percent:g}%, p95 < "
                 f"{gate.max_p95 * 1000:.0f} ms, at least {gate.min_samples} samples"
                 + (f" ({len(site.probe_targets(not ship))} URLs x {req.spec.probe.rounds} rounds)"
                    if gate.source == "probe" else f" ({req.spec.prometheus.url})"))
    if ship:
        plan.append({"web release": _web_plan(run, site, fleet, req, current)})
        out.line("")
    if move is not None:
        runs = [flag_mod.UnitRun(u) for u in site.units(fleet, web_live, current)]
        down = flag_mod.observe(fleet, runs, current)
        for r in runs:
            steps = _unit_steps(site, r, move.target)
            if r.unit.name not in down:
                state = f"now {r.before.describe() if r.before else '?'}"
            elif ship and r.unit.app == "web":
                state = "not deployed yet: the web release comes first"
            else:
                state = f"cannot read: {down[r.unit.name]}"
            out.line(f"{r.unit.name}: {state}")
            for line in steps:
                out.line(f"  {line}")
            plan.append({"unit": r.unit.name, "before": r.before.as_dict() if r.before else None,
                         "target": move.target.as_dict(), "steps": steps})
        if up:
            out.line(f"observe {gate.source} gate again over {req.window:g}s; a failure puts every unit back")
        out.line(f"journal phase3/rollout {{percentage: {move.target.effective}, previous: {move.previous.effective}}}")
    return Outcome(ok=True, percentage=current.effective, previous=current.effective,
                   direction=move.direction if move else None, dry_run=True, plan=plan,
                   soaks=[s.as_dict() for s in soaks])


def _web_plan(run, site: "Site", fleet: Fleet, req: "Request", current: FlagState) -> dict:
    """The web release's plan: phase 2's per-host steps (process, static), or the local publish."""
    from deploy import artifact as artifacts, phase2 as p2
    env = site.env
    release = artifacts.planned_release(env, "web", req.given)
    if site.publisher is not None:
        build = env.apps["web"].commands.build or "(the source folder as it is)"
        run.out.line(f"web release {release} (command mode), on this machine: build {build}, unpack into "
                     f"{site.publisher.release_dir(release)}, then")
        run.out.line(f"  run     {site.publisher.command('<env file, flag at ' + current.describe() + '>')}")
        return {"release": release, "mode": "command"}
    ctx = site.web
    ctx.env_overrides = current.env()
    view = site.view(fleet, ctx)
    runs = {h.name: p2.HostRun(h.name, h.config) for h in view.hosts}
    down = p2.observe(view, ctx, runs)
    for r in runs.values():
        r.target, r.previous = release, (r.before.current if r.before else None)
        r.note = f"unreachable: {down[r.name]}" if r.name in down else ""
    return p2.dry_run_outcome(run, ctx, runs, release, req.given, smoke=False).as_dict()


def _unit_steps(site: "Site", r: flag_mod.UnitRun, target: FlagState) -> list[str]:
    unit = r.unit
    if isinstance(unit, web_release.LocalUnit):
        return [f"run     (in {unit.publisher.release_dir(unit.release)}) {unit.publisher.command('<env file>')}"]
    ctx = site.api if unit.app == "api" else site.web
    flag = f"flag {target.describe()}"
    steps = [f"run     {flag_mod.write_command(ctx.layout, target)}"]
    steps += [s.show() for s in releases.restart_steps(ctx.manager, ctx.program)]
    steps.append(f"gate    GET {ctx.health_url(unit.conn.config)} until it serves {flag}")
    return steps

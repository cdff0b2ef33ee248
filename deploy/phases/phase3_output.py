"""Phase 3's output: the per-unit table, the --json body, and --dry-run's plan (the steps a run
applies, as the release engine builds them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deploy.flag import units as flag_mod
from deploy.releases import artifact as artifacts
from deploy.phases import web_release
from deploy.engine import plan as engine_plan
from deploy.engine.results import Outcome
from deploy.engine.roll import runs_for
from deploy.engine.steps import lines
from deploy.hosts.fleet import Fleet
from deploy.output.console import Output
from deploy.flag.rollout import FlagState, Move
from deploy.phases.site import Site, flag_steps, live_slot

if TYPE_CHECKING:
    from deploy.flag.journal import Journaled
    from deploy.phases.phase3 import Request


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


def dry_run_outcome(run, site: Site, fleet: Fleet, req: "Request", move: Move | None, soaks: list,
                    stop: str | None, journaled: "Journaled", web_live: str | None) -> Outcome:
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
    return Outcome(ok=True, dry_run=True, body=flag_body(
        percentage=current.effective, previous=current.effective, direction=move.direction if move else None,
        plan=plan, soaks=[s.as_dict() for s in soaks]))


def _web_plan(run, site: Site, fleet: Fleet, req: "Request", current: FlagState) -> dict:
    """The web release's plan: the engine's per-host steps (process, static), or the local publish."""
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
    runs = runs_for(view)
    engine_plan.target_release(view, ctx, runs, release)
    return engine_plan.release_plan(run, ctx, runs, release, req.given, smoke=False).as_dict()


def _unit_steps(site: Site, r: flag_mod.UnitRun, target: FlagState) -> list[str]:
    unit = r.unit
    if isinstance(unit, web_release.LocalUnit):
        return [f"run     (in {unit.publisher.release_dir(unit.release)}) {unit.publisher.command('<env file>')}"]
    ctx = site.api if unit.app == "api" else site.web
    return lines(flag_steps(ctx, unit.conn.config, target, live_slot(ctx, unit.conn)))


def flag_body(percentage: int | None = None, previous: int | None = None, direction: str | None = None,
              release: str | None = None, units: list | None = None, soaks: list | None = None,
              gate: dict | None = None, observe: dict | None = None, note: str = "",
              plan: list | None = None) -> dict:
    """What --json shows of a flag move (phase 3, rollback.frontend); `plan`: a dry run's."""
    data = {"percentage": percentage, "previous": previous, "direction": direction, "release": release,
            "units": units or []}
    if plan is not None:
        data.update(plan=plan, soaks=soaks or [])
    else:
        data.update(soaks=soaks or [], gate=gate, observe=observe, note=note)
    return data

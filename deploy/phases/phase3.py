"""Phase 3: the web release and the feature flag's staged rollout (runbook steps 3.1-3.3).

    deploy.phase3               release the web app (deploy.phases.web_release), the flag unchanged
    deploy.phase3 --rollout N   move the flag to N% (a configured stage):
      plan     up one stage at a time (--force jumps); down is always allowed (a rollback)
      soak     up: the phase-2 soak for the first step, the stage soak after it (from the
               journal; exit 4 with the time left, unless --skip-soak --reason)
      gate     up: the metrics gate must pass before anything changes (exit 1 otherwise)
      web      the web app is released first when no web host runs it yet
      apply    ENABLE_RATING_FEATURE + RATING_ROLLOUT_PERCENTAGE in the api and web env files,
               reloaded rolling, each unit checked to serve the new value (deploy.flag.units)
      observe  up: the metrics gate again over the observation window
      journal  phase3/rollout {"percentage": N, "previous": M, ...} once all of it passed
Any failure after a change puts every unit back on its previous value (and the web hosts on
their previous release) and exits 1. Going down keeps what it lowered: see deploy.flag.units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from deploy.releases import artifact as artifacts
from deploy.flag import units as flag_mod
from deploy.flag import journal as flag_journal
from deploy.gates import metrics as metrics_gate
from deploy.phases import web_release
from deploy.engine.context import Journal
from deploy.engine.results import Outcome
from deploy.run import Run
from deploy.db.connect import connect
from deploy.errors import ConfigError, DeployError, GateNotYet, StepFailed
from deploy.executor import Executor, executing
from deploy.hosts.fleet import Fleet
from deploy.phases.phase3_output import dry_run_outcome, flag_body, report_units
from deploy.flag.rollout import Move, duration_text, parse_stage, plan, rollout_details, soaks
from deploy.phases.site import Site

PHASE = "phase3"


@dataclass
class Request:
    """The flags of one run, checked before anything is read or changed (ConfigError: exit 2)."""

    target: int | None
    force: bool
    skip_reason: str | None
    window: float
    given: Path | None
    spec: metrics_gate.RolloutSpec


def check_request(run: Run, rollout: str | None, force: bool, skip_soak: bool, reason: str | None,
                  observe: float | None, artifact: str | None) -> Request:
    env = run.env
    target = parse_stage(rollout, env.rollout.stages) if rollout not in (None, "") else None
    reason = (reason or "").strip() or None
    if skip_soak and not reason:
        raise ConfigError("--skip-soak needs --reason WHY (the reason is journaled)")
    if reason and not skip_soak:
        raise ConfigError("--reason goes with --skip-soak")
    if force and target is None:
        raise ConfigError("--force goes with --rollout N")
    if observe is not None and observe <= 0:
        raise ConfigError("--observe: the observation window must be longer than 0s")
    spec = metrics_gate.for_environment(metrics_gate.load(Path(env.root)), env.rollout)
    if target is not None:
        metrics_gate.check_source(spec)
    return Request(target, force, reason if skip_soak else None,
                   spec.gate.observe if observe is None else observe, artifacts.check_given(artifact), spec)


def decide(req: Request, site: Site, journaled: flag_journal.Journaled,
           now: datetime | None = None) -> tuple[Move | None, list]:
    """The move and its soak gates; GateNotYet (exit 4) while a soak has time left."""
    if req.target is None:
        return None, []
    settings = site.env.rollout
    move = plan(journaled.state or site.configured, req.target, settings.stages, req.force)
    found = soaks(move, now or datetime.now(timezone.utc), journaled.api_released_at, journaled.changed_at,
                  settings.soak_after_api, settings.stage_soak)
    pending = [s for s in found if not s.ok]
    if pending and not req.skip_reason:
        waits = [s.left for s in pending if s.since is not None]
        when = f"; retry in {duration_text(max(waits))}" if waits else ""
        raise GateNotYet("; ".join(s.describe() for s in pending) + when
                         + " (or --skip-soak --reason WHY)")
    return move, found


# -- deploy.phase3 ------------------------------------------------------------------------------------
def phase3(run: Run, rollout: str | None = None, force: bool = False, skip_soak: bool = False,
           reason: str | None = None, observe: float | None = None, artifact: str | None = None,
           dry_run: bool = False, lock_wait: float = 0) -> Outcome:
    env = run.env
    req = check_request(run, rollout, force, skip_soak, reason, observe, artifact)
    site = Site.load(env)
    with connect(run.database, Path(env.root)) as db:
        journaled = flag_journal.read(db, env.name)
        web_live = web_release.live_release(db, env) if site.publisher else None
    with Fleet(env, site.hosts) as fleet:
        if dry_run:
            try:
                move, found = decide(req, site, journaled)
                stop = None
            except GateNotYet as exc:
                move, found, stop = plan(journaled.state or site.configured, req.target, env.rollout.stages,
                                         req.force), [], str(exc)
            return dry_run_outcome(run, site, fleet, req, move, found, stop, journaled, web_live)
        decide(req, site, journaled)          # refuse early: no lock taken, nothing journaled
        if site.api:
            site.api.check_lb()
        holder: dict[str, Any] = {"runs": []}
        try:
            with executing(run, PHASE, lock_wait) as ex:
                holder["ex"] = ex
                return _phase3(run, site, fleet, ex, req, holder)
        except KeyboardInterrupt:
            report_units(run.out, holder["runs"], "Where the flag is now", fleet)
            raise
        except Exception as exc:
            if isinstance(exc, DeployError) and not isinstance(exc, StepFailed):
                raise
            return failed(run, fleet, holder, exc)


def _phase3(run: Run, site: Site, fleet: Fleet, ex: Executor, req: Request, holder: dict) -> Outcome:
    env = run.env
    journaled = flag_journal.read(ex.db, env.name)    # again under the lock: another run may have ended
    move, found = decide(req, site, journaled)
    current = journaled.state or site.configured
    outcome = Outcome(ok=True, body=flag_body(percentage=current.effective, soaks=[s.as_dict() for s in found]))
    if move is not None:
        outcome.previous, outcome.direction = move.previous.effective, move.direction
        holder["move"] = move
        with ex.step("soak", details={"soaks": outcome.soaks, "skipped": req.skip_reason}):
            for s in found:
                run.out.item("pass" if s.ok else "warn", s.describe(),
                              "" if s.ok else f"skipped: {req.skip_reason}")
    web_live = web_release.live_release(ex.db, env) if site.publisher else None
    ship_web = req.target is None or web_release.missing(run, site, fleet, web_live)
    if req.given and not ship_web:
        run.out.warn(f"--artifact {req.given} not used: the web app runs a release already "
                     "(`deploy.phase3 --artifact PATH` without --rollout ships a new one)")
    runs: list[flag_mod.UnitRun] = []
    if move is not None and not ship_web:     # observe first: nothing to do, or a unit out of reach
        runs = holder["runs"] = read_units(site, fleet, web_live, current)
        if all(r.before == move.target for r in runs) and current == move.target:
            outcome.note = f"every unit already serves {move.target.describe()}"
            outcome.units = [r.row() for r in runs]
            return outcome
        if all(r.before == move.target for r in runs):
            # The journal says the flag is elsewhere: the phase 3 that wrote these files never
            # finished, and a process may still serve the old value (written, not reloaded).
            # Every unit is reloaded and gated on the target, as in any move; nothing is skipped.
            run.out.warn(f"every env file already says {move.target.describe()} but the journal has "
                         f"{current.describe()} (an earlier phase 3 did not finish): reloading every unit")
    if move is not None and move.direction != "down":
        outcome.gate = gate(run, ex, site, req, "gate", observing=0, with_web=not ship_web, fleet=fleet)
    if ship_web:
        outcome.release, web_live = web_release.ship(run, site, fleet, ex, req.given, current, web_live)
    if move is None:
        outcome.note = f"web release {outcome.release} live; the flag stays at {current.describe()}"
        return outcome
    if not runs:
        runs = holder["runs"] = read_units(site, fleet, web_live, current)
    odd = [r.unit.name for r in runs if r.before != current]
    if odd:
        run.out.warn(f"{', '.join(odd)}: the env file differs from the journal ({current.describe()}); "
                     f"moving to {move.target.describe()} with the rest")
    details = rollout_details(move.previous, move.target, direction=move.direction, forced=move.forced,
                              rollback=move.direction == "down", soak_skipped=req.skip_reason)
    with ex.step("rollout", details=details) as notes:
        change = flag_mod.Change(runs, move.target, env.batches.size, Journal(ex).step, ex, run.out.info,
                                 revert_on_failure=move.direction != "down")
        change.run(fleet)
        if move.direction != "down":
            outcome.observe = gate(run, ex, site, req, "observe", observing=req.window, with_web=True,
                                       fleet=fleet)
            notes["observe"] = outcome.observe
    outcome.percentage = move.target.effective
    outcome.units = [r.row() for r in runs]
    return _done(run, outcome, runs, move)


def read_units(site: Site, fleet: Fleet, web_live: str | None, current) -> list[flag_mod.UnitRun]:
    """Every unit with its flag as read now; StepFailed when one cannot be read."""
    runs = [flag_mod.UnitRun(u) for u in site.units(fleet, web_live, current)]
    down = flag_mod.observe(fleet, runs, current)
    if down:
        raise StepFailed("cannot read the flag of " + "; ".join(f"{k}: {v}" for k, v in down.items()))
    return runs


def _done(run: Run, outcome: Outcome, runs: list, move: Move) -> Outcome:
    report_units(run.out, runs, "Rolled back: the flag" if move.direction == "down" else "Phase 3: the flag")
    return outcome


def gate(run: Run, ex: Executor, site: Site, req: Request, action: str, observing: float,
         with_web: bool, fleet: Fleet | None = None) -> dict:
    """The metrics gate as a journaled step; a failure raises StepFailed (undo, exit 1)."""
    what = "before the change" if action == "gate" else f"over {duration_text(observing)} after the change"
    run.out.info(f"metrics gate ({req.spec.gate.source}) {what} ...")
    with ex.step(action) as notes:
        verdict = metrics_gate.measure(req.spec, site.probe_targets(with_web, fleet), observing)
        notes.update(verdict.as_dict())
        run.out.item("pass" if verdict.ok else "fail", f"metrics gate {what}", verdict.describe())
        if not verdict.ok:
            raise StepFailed(f"metrics gate {what} failed: {'; '.join(verdict.reasons)}")
    return verdict.as_dict()


def failed(run: Run, fleet: Fleet, holder: dict, exc: BaseException) -> Outcome:
    """After the executor undid what it could: where every unit is, and why we stopped."""
    runs = holder.get("runs") or []
    report_units(run.out, runs, "Where the flag is now", fleet)
    move: Move | None = holder.get("move")
    return Outcome.failure(exc, flag_body(
        percentage=move.previous.effective if move and move.direction != "down" else None,
        previous=move.previous.effective if move else None, direction=move.direction if move else None,
        units=[r.row() for r in runs]), holder.get("ex"))


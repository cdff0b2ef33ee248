"""Phase 1 (schema) and phase 4 (backfill), and the deploy history; part of the deploy namespace."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds, whole_number

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
phases = lazy("deploy.phases.database")
rundb = lazy("deploy.db.run_database")
journal = lazy("deploy.db.journal")


@deploy_task(namespace="deploy", help={"dry_run": DRY_RUN, "lock_wait": LOCK_WAIT})
def phase1(run: Run, dry_run: bool = False, lock_wait: str = None):
    """Phase 1: verified backup, pending migrations, schema verification, post-migrate hooks."""
    result = phases.phase1(run, dry_run=dry_run, lock_wait=lock_wait_seconds(lock_wait))
    if dry_run:
        run.out.line(result.dry_run_sql or "-- nothing pending: phase 1 would change nothing")
        return {"dry_run": True, "sql": result.dry_run_sql or "", "nothing_pending": result.nothing_pending}
    if result.nothing_pending:
        run.out.line("phase 1: nothing pending - the schema is up to date; nothing changed")
    else:
        for m in result.applied:
            run.out.line(f"applied {m['version']}_{m['name']} in {m['seconds']:.2f}s")
        run.out.line("schema verified against checks/schema.yaml")
        for hook in result.hooks:
            on = "" if hook["hosts"] == ["local"] else ": " + ", ".join(hook["hosts"])
            run.out.line(f"hook ok: {hook['run']} ({hook['where']}{on})")
        run.out.line("phase 1 complete")
    return {"applied": result.applied, "backup": result.backup, "hooks": result.hooks,
            "nothing_pending": result.nothing_pending}


@deploy_task(namespace="deploy", help={"dry_run": DRY_RUN, "lock_wait": LOCK_WAIT})
def phase4(run: Run, dry_run: bool = False, lock_wait: str = None):
    """Phase 4: verified backup, set-based backfill of rating aggregates, prove zero discrepancies."""
    result = phases.phase4(run, dry_run=dry_run, lock_wait=lock_wait_seconds(lock_wait))
    if dry_run:
        run.out.line(result.dry_run_sql or "")
        return {"dry_run": True, "sql": result.dry_run_sql}
    changed = "unknown" if result.rows_changed is None or result.rows_changed < 0 else result.rows_changed
    run.out.line(f"backfill: {changed} row(s) updated; discrepancies: 0")
    run.out.table("Top sellers (TotalRatings > 0)", ["Id", "FullName", "TotalRatings", "SellerRating"],
                  [(t.id, t.full_name, t.total_ratings, t.seller_rating) for t in result.top_sellers])
    return {"backup": result.backup, "rows_changed": result.rows_changed, "discrepancies": 0,
            "top_sellers": result.top_sellers}


@deploy_task(namespace="deploy", help={
    "phase": "only events of this phase (phase1, phase2, ..., migrate, rollback-database)",
    "action": "only events of this action (start, finish, backup, migrate, undo, ...)",
    "limit": "how many events, newest first (default 30)",
})
def history(run: Run, phase: str = None, action: str = None, limit: str = None):
    """List the journal: who did what, where, when, and how it ended."""
    count = whole_number(limit, "limit", default=30)
    with rundb.open_db(run) as db:
        events = journal.query(db, phase=phase, action=action, environment=run.env.name, limit=count)
    run.out.table(None, ["at (UTC)", "phase", "action", "host", "release", "actor", "outcome", "ms"],
                  [(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.phase, e.action, e.host or "", e.release or "",
                    e.actor, e.outcome, e.duration_ms if e.duration_ms is not None else "")
                   for e in events])
    if not events:
        run.out.line("no events journaled yet")
    return {"events": events}

"""Phase 1 (schema), phase 4 (backfill) and the guarded database rollback, composed from deploy.db.

Each builds its plan first (pending migrations and their exact SQL); --dry-run prints that plan
and stops before the lock is even taken. Then, under the executor (lock + journal): a verified
backup always comes first, and each change runs in its own transaction.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from deploy.run import Run
from deploy.commands.shell import chain, cmd, sh
from deploy.db import aggregates, journal, migrate, schema
from deploy.db import lock as deploy_lock
from deploy.db.schema_introspect import introspect
from deploy.db.schema_spec import load as load_schema_spec
from deploy.db.connect import Database, has_table
from deploy.errors import ConfigError, GateNotYet, StepFailed
from deploy.executor import Executor, executing, lock_wait_note
from deploy.config.environment import HostConfig
from deploy.hosts.fleet import Fleet, LocalHost
from deploy.db.run_database import open_db, schema_spec, sql_root, take_backup


# -- phase 1 ---------------------------------------------------------------------------------------
@dataclass
class Phase1Result:
    applied: list[dict] = field(default_factory=list)
    backup: dict | None = None
    schema_differences: list[str] = field(default_factory=list)
    hooks: list[dict] = field(default_factory=list)
    nothing_pending: bool = False
    dry_run_sql: str | None = None


def phase1(run: Run, dry_run: bool = False, lock_wait: float = 0, hooks: bool = True,
           phase: str = "phase1") -> Phase1Result:
    """Backup (verified) -> pending migrations -> schema verification -> post-migrate hooks.

    With nothing pending it changes nothing - unless an earlier phase 1 applied its migrations
    but did not finish (verification or a hook failed, or db.migrate ran alone): then it
    completes that run's verification and hooks.
    """
    result = Phase1Result()
    spec = schema_spec_loaded(run)                     # a broken spec is exit 2 before any change
    with open_db(run) as db:
        pending = migrate.plan(db, sql_root(run))      # refuses drift: exit 2, nothing changed
        if dry_run:
            sql = migrate.render(db, sql_root(run), run.actor)
            result.dry_run_sql = _phase1_plan(run, sql, hooks) if sql else ""
            result.nothing_pending = not pending
            return result
        unfinished = hooks and not pending and _migrations_not_completed(db, run.env.name)
    if not pending and not unfinished:
        lock_is_free(run, lock_wait)                   # a deploy still running: exit 3, not "done"
        result.nothing_pending = True
        return result
    if hooks:
        hooks_have_a_release(run)                      # a hook with nowhere to run: exit 4, nothing changed
    with executing(run, phase, lock_wait) as ex:
        db = ex.db
        pending = migrate.plan(db, sql_root(run))      # again, now under the lock
        if pending:
            result.backup = take_backup(run, ex).as_dict()
            for m in pending:
                run.out.info(f"migrate: applying {m.filename} ...")
            with ex.step("migrate", details={"migrations": [m.filename for m in pending]}) as notes:
                done = migrate.apply(db, sql_root(run), run.actor)
                notes["applied"] = [f"{d.version}_{d.name}" for d in done]
            result.applied = [{"version": d.version, "name": d.name, "seconds": round(d.seconds, 3)}
                              for d in done]
        else:
            run.out.line("completing an earlier phase 1: its migrations are applied; verifying the schema "
                         "and running the hooks again")
        try:
            with ex.step("verify-schema") as notes:
                result.schema_differences = schema.compare(spec, introspect(db))
                notes["differences"] = result.schema_differences
                if result.schema_differences:
                    raise StepFailed("schema verification failed after the migration: "
                                     + "; ".join(result.schema_differences))
            if hooks:
                result.hooks = run_hooks(run, ex)
        except StepFailed as exc:
            raise StepFailed(f"{exc} - the migrations stay applied; fix the cause and re-run deploy.phase1 "
                             "to finish, or roll back with rollback.database") from None
    return result


def _phase1_plan(run: Run, sql: str, hooks: bool) -> str:
    """The dry-run text: the steps around the SQL as comments, then the exact SQL."""
    env = run.env
    where = env.database.backups.run_on
    steps = [f"-- 1. verified backup of the {env.database.dialect} database "
             f"({'on ' + where if where != 'local' else 'here'}, into {env.database.backups.dir})",
             "-- 2. the SQL below, each migration in one transaction with its history row",
             "-- 3. schema verification against checks/schema.yaml"]
    if hooks:
        steps += [f"-- 4. hook: {h.run} ({h.where})" for h in env.hooks.post_migrate]
    return "\n".join(steps) + "\n\n" + sql


def schema_spec_loaded(run: Run):
    return load_schema_spec(schema_spec(run))


def _migrations_not_completed(db: Database, environment: str) -> bool:
    """Migrations were applied after the last phase 1 that finished (or none ever did)."""
    applied = journal.query(db, action="migrate", outcome=journal.OK, environment=environment, limit=1)
    if not applied:
        return False
    finished = journal.last_success(db, "phase1", "finish", environment)
    return finished is None or finished.at < applied[0].at


def lock_is_free(run: Run, lock_wait: float) -> None:
    """Exit 3 (naming the holder) when another deploy holds the lock; take and free it otherwise."""
    with deploy_lock.acquire(run.database, Path(run.env.root), run.actor, run.task,
                             wait_seconds=lock_wait, environment=run.env.name,
                             on_wait=lock_wait_note(run, lock_wait)):
        pass


def hooks_have_a_release(run: Run) -> None:
    """A remote hook runs in its app's current release on each of its hosts: a host without one
    (the app never deployed there) would fail the hook after the migrations were applied, so phase 1
    refuses before it changes anything (exit 4: not yet - deploy the app there first)."""
    for hook in run.env.hooks.post_migrate:
        if hook.where == "local":
            continue
        current = f"{run.env.deploy_to}/{hook.app}/current"
        probe = sh(cmd("test", "-d", current))
        with Fleet(run.env, run.env.hosts_with(hook.where)) as fleet:
            outcome = fleet.run(lambda h: h.run(probe, check=False).ok)
        if not outcome.ok:
            raise StepFailed("cannot reach the hosts of the post-migrate hook "
                             f"`{hook.run}` ({hook.where}): "
                             + "; ".join(f"{o.host}: {o.error}" for o in outcome.failed) + " - nothing changed")
        missing = [o.host for o in outcome.outcomes if not o.value]
        if missing:
            raise GateNotYet(f"the post-migrate hook `{hook.run}` runs in the {hook.app} release, but "
                             f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} none yet "
                             f"(no {current}): deploy {hook.app} there first (deploy.phase2); nothing changed")


def run_hooks(run: Run, ex: Executor) -> list[dict]:
    """Post-migration hooks from config (production: `npx prisma generate` on the API hosts), each
    with `hooks.env` in its environment; the result names the hosts each ran on."""
    done = []
    extra = run.env.hooks.env
    for hook in run.env.hooks.post_migrate:
        run.out.info(f"hook: {hook.run} ({hook.where})")
        with ex.step("hook", details={"run": hook.run, "where": hook.where}) as notes:
            if hook.where == "local":
                folder = str(run.env.path(run.env.apps[hook.app].source))
                host = LocalHost(HostConfig(name="local", transport="local"), hook.timeout)
                line = sh(chain([cmd("cd", folder), _raw(hook.run, extra)]))
                output = host.run(line, timeout=hook.timeout).stdout.strip()
                notes["output"] = output.splitlines()[-1] if output else ""
                notes["hosts"] = ["local"]
            else:
                line = sh(chain([cmd("cd", f"{run.env.deploy_to}/{hook.app}/current"), _raw(hook.run, extra)]))
                with Fleet(run.env, run.env.hosts_with(hook.where)) as fleet:
                    outcome = fleet.run(lambda h: h.run(line, timeout=hook.timeout).stdout.strip())
                if not outcome.ok:
                    raise StepFailed("hook failed: " + "; ".join(f"{o.host}: {o.error}" for o in outcome.failed))
                notes["hosts"] = [o.host for o in outcome.outcomes]
        done.append({"run": hook.run, "where": hook.where, "hosts": notes["hosts"], "ok": True})
    return done


def _raw(line: str, extra: dict[str, str] | None = None):
    """A configured command line: split like a shell would, each word then quoted again; with
    `extra`, run through `env NAME=VALUE ...`."""
    words = shlex.split(line)
    if extra:
        words = ["env", *(f"{k}={v}" for k, v in extra.items()), *words]
    return cmd(*words)


# -- phase 4 ---------------------------------------------------------------------------------------
@dataclass
class Phase4Result:
    backup: dict | None = None
    rows_changed: int | None = None
    discrepancies: list = field(default_factory=list)
    top_sellers: list = field(default_factory=list)
    dry_run_sql: str | None = None


def phase4(run: Run, dry_run: bool = False, lock_wait: float = 0) -> Phase4Result:
    """Backup (verified) -> set-based backfill -> zero discrepancies -> the top-10 listing."""
    result = Phase4Result()
    dialect = run.env.database.dialect
    with open_db(run) as db:
        if not has_table(db, "SellerRatings"):
            raise ConfigError("phase 4 needs the SellerRatings table: run deploy.phase1 first")
    for name in ("backfill-rating-aggregates.sql", "verify-aggregates.sql", "top-sellers.sql"):
        text = aggregates.sql_file(dialect, name, sql_root(run))   # all there before anything runs
        if name.startswith("backfill"):
            result.dry_run_sql = text
    if dry_run:
        return result
    result.dry_run_sql = None
    with executing(run, "phase4", lock_wait) as ex:
        result.backup = take_backup(run, ex).as_dict()
        db = ex.db
        with ex.step("backfill") as notes:
            result.rows_changed = aggregates.backfill(db, sql_root(run))
            notes["rows_changed"] = result.rows_changed
        with ex.step("verify-aggregates") as notes:
            found = aggregates.discrepancies(db, sql_root(run))
            result.discrepancies = found
            notes["discrepancies"] = len(found)
            if found:
                raise StepFailed(f"{len(found)} seller(s) still have aggregate discrepancies after the "
                                 f"backfill (first: seller {found[0].seller_id})")
        result.top_sellers = aggregates.top_sellers(db, 10, sql_root(run))
    return result


# -- rollback.database -------------------------------------------------------------------------------
@dataclass
class RollbackResult:
    backup: dict | None = None
    rolled_back: list[dict] = field(default_factory=list)
    ratings: int = 0
    dry_run_sql: str | None = None


def rollback_database(run: Run, steps: int, force: bool, reason: str | None, dry_run: bool,
                      lock_wait: float = 0) -> RollbackResult:
    """Down files newest first in one transaction, after a verified backup; refuses with data."""
    if steps < 1:
        raise ConfigError("--steps must be at least 1")
    if force and not (reason and reason.strip()):
        raise ConfigError("--force needs --reason TEXT (it is journaled)")
    result = RollbackResult()
    with open_db(run) as db:
        chosen = migrate.rollback_plan(db, sql_root(run), steps)
        if not chosen:
            raise ConfigError("nothing to roll back: no applied migrations")
        result.ratings = aggregates.count_ratings(db) if has_table(db, "SellerRatings") else 0
        if dry_run:
            result.dry_run_sql = migrate.render_rollback(db, sql_root(run), steps)
            return result
    if result.ratings and not force:
        raise StepFailed(f"refusing: SellerRatings holds {result.ratings} rating(s) that the rollback would "
                         "destroy; use --force --reason TEXT (a verified backup is taken first)")
    with executing(run, "rollback-database", lock_wait) as ex:
        # count again under the lock: ratings written since the first look count too
        result.ratings = aggregates.count_ratings(ex.db) if has_table(ex.db, "SellerRatings") else 0
        if result.ratings and not force:
            raise StepFailed(f"refusing: SellerRatings holds {result.ratings} rating(s) that the rollback "
                             "would destroy; use --force --reason TEXT (a verified backup is taken first)")
        result.backup = take_backup(run, ex).as_dict()
        with ex.step("rollback", details={"reason": reason, "forced": force,
                                          "ratings": result.ratings}) as notes:
            done = migrate.rollback(ex.db, sql_root(run), steps)
            notes["rolled_back"] = [f"{d.version}_{d.name}" for d in done]
        result.rolled_back = [{"version": d.version, "name": d.name} for d in done]
    return result

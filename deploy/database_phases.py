"""Phase 1 (schema), phase 4 (backfill) and the guarded database rollback, composed from deploy.db.

Each builds its plan first (pending migrations and their exact SQL); --dry-run prints that plan
and stops before the lock is even taken. Then, under the executor (lock + journal): a verified
backup always comes first, and each change runs in its own transaction.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from deploy.cli import Run
from deploy.commands.shell import chain, cmd, sh
from deploy.db import aggregates, migrate, schema
from deploy.db import backup as db_backup
from deploy.db.backup import BackupRecord
from deploy.db.connect import Database, connect, has_table
from deploy.errors import ConfigError, StepFailed
from deploy.executor import Executor, executing
from deploy.hosts import Fleet
from deploy.secrets import mask


def sql_root(run: Run) -> Path:
    return Path(run.env.root) / "sql"


def schema_spec(run: Run) -> Path:
    return Path(run.env.root) / "checks" / "schema.yaml"


def open_db(run: Run) -> Database:
    return connect(run.database, Path(run.env.root))


# -- verified backup (the first step of every database change) -----------------------------------
def take_backup(run: Run, ex: Executor) -> BackupRecord:
    env = run.env
    run.out.info("backup: taking a verified backup ...")
    with ex.step("backup") as notes:
        where = env.database.backups.run_on
        if env.database.dialect == "postgres" and where != "local":
            with Fleet(env) as fleet:
                host = fleet.select(names=[where])[0]
                record = db_backup.backup(run.database, Path(env.root), runner=host,
                                          remote_dir="/tmp")
        else:
            record = db_backup.backup(run.database, Path(env.root))
        notes.update(record.as_dict())
    size = f"{record.size / 1e6:.1f} MB" if record.size is not None else "on the server"
    run.out.line(f"backup {record.id}: {record.path} ({size}, verified)")
    return record


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
    """Backup (verified) -> pending migrations -> schema verification -> post-migrate hooks."""
    result = Phase1Result()
    with open_db(run) as db:
        pending = migrate.plan(db, sql_root(run))          # refuses drift: exit 2, nothing changed
        if dry_run:
            result.dry_run_sql = migrate.render(db, sql_root(run), run.actor)
            result.nothing_pending = not pending
            return result
    if not pending:
        result.nothing_pending = True
        return result
    with executing(run, phase, lock_wait) as ex:
        result.backup = take_backup(run, ex).as_dict()
        db = ex.db
        pending = migrate.plan(db, sql_root(run))       # again, now under the lock
        for m in pending:
            run.out.info(f"migrate: applying {m.filename} ...")
        with ex.step("migrate", details={"migrations": [m.filename for m in pending]}) as notes:
            done = migrate.apply(db, sql_root(run), run.actor)
            notes["applied"] = [f"{d.version}_{d.name}" for d in done]
        result.applied = [{"version": d.version, "name": d.name, "seconds": round(d.seconds, 3)}
                          for d in done]
        with ex.step("verify-schema") as notes:
            result.schema_differences = schema.verify(db, schema_spec(run))
            notes["differences"] = result.schema_differences
            if result.schema_differences:
                raise StepFailed("schema verification failed after the migration: "
                                 + "; ".join(result.schema_differences))
        if hooks:
            result.hooks = run_hooks(run, ex)
    return result


def run_hooks(run: Run, ex: Executor) -> list[dict]:
    """Post-migration hooks from config (production: `npx prisma generate` on the API hosts)."""
    done = []
    for hook in run.env.hooks.post_migrate:
        run.out.info(f"hook: {hook.run} ({hook.where})")
        with ex.step("hook", details={"run": hook.run, "where": hook.where}) as notes:
            if hook.where == "local":
                source = run.env.path(run.env.apps[hook.app].source)
                proc = subprocess.run(shlex.split(hook.run), cwd=source, capture_output=True, text=True,
                                      timeout=hook.timeout, stdin=subprocess.DEVNULL)
                if proc.returncode != 0:
                    tail = (proc.stderr or proc.stdout).strip().splitlines()
                    raise StepFailed(f"hook `{hook.run}` exited {proc.returncode}: "
                                     f"{mask(tail[-1]) if tail else 'no output'}")
                notes["output"] = mask(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else ""
            else:
                current = f"{run.env.deploy_to}/{hook.app}/current"
                line = sh(chain([cmd("cd", current), _raw(hook.run)]))
                with Fleet(run.env, run.env.hosts_with(hook.where)) as fleet:
                    outcome = fleet.run(lambda h: h.run(line, timeout=hook.timeout).stdout.strip())
                if not outcome.ok:
                    raise StepFailed("hook failed: " + "; ".join(f"{o.host}: {o.error}" for o in outcome.failed))
                notes["hosts"] = [o.host for o in outcome.outcomes]
        done.append({"run": hook.run, "where": hook.where, "ok": True})
    return done


def _raw(line: str):
    """A configured command line: split like a shell would, each word then quoted again."""
    return cmd(*shlex.split(line))


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
    if dry_run:
        result.dry_run_sql = aggregates.sql_file(dialect, "backfill-rating-aggregates.sql", sql_root(run))
        return result
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
        result.backup = take_backup(run, ex).as_dict()
        with ex.step("rollback", details={"reason": reason, "forced": force,
                                          "ratings": result.ratings}) as notes:
            done = migrate.rollback(ex.db, sql_root(run), steps)
            notes["rolled_back"] = [f"{d.version}_{d.name}" for d in done]
        result.rolled_back = [{"version": d.version, "name": d.name} for d in done]
    return result

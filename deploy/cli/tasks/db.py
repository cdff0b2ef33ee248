"""Database: migration status, migrate, schema verify, verified backups, a guarded restore, diagnose, client commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deploy.cli.task import Run, deploy_task, non_interactive
from deploy.errors import EXIT_FAILED, ConfigError
from deploy.lazy import lazy
from deploy.secrets import reveal
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds

if TYPE_CHECKING:
    from deploy.db.backup import BackupRecord

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
phases = lazy("deploy.phases.database")
rundb = lazy("deploy.db.run_database")
db_backup = lazy("deploy.db.backup")
journal = lazy("deploy.db.journal")
migrate = lazy("deploy.db.migrate")
odbc = lazy("deploy.db.odbc")
schema = lazy("deploy.db.schema")
executor = lazy("deploy.executor")


@deploy_task()
def status(run: Run):
    """Show every migration: applied, pending, drifted (file changed) or missing (file gone)."""
    with rundb.open_db(run) as db:
        states = migrate.status(db, rundb.sql_root(run))
    run.out.table(None, ["version", "name", "state", "applied at", "by"],
                  [(s.version, s.name, s.state,
                    s.applied.applied_at if s.applied else "", s.applied.applied_by if s.applied else "")
                   for s in states])
    counts = {k: sum(1 for s in states if s.state == k) for k in ("applied", "pending", "drifted", "missing")}
    run.out.line(", ".join(f"{v} {k}" for k, v in counts.items()))
    return {"migrations": [{"version": s.version, "name": s.name, "state": s.state} for s in states],
            "counts": counts}


@deploy_task(name="migrate", help={"dry_run": DRY_RUN, "lock_wait": LOCK_WAIT})
def migrate_(run: Run, dry_run: bool = False, lock_wait: str = None):
    """Apply pending migrations (after a verified backup), each in one transaction with its row."""
    result = phases.phase1(run, dry_run=dry_run, lock_wait=lock_wait_seconds(lock_wait), hooks=False, phase="migrate")
    if dry_run:
        run.out.line(result.dry_run_sql or "-- nothing pending")
        return {"dry_run": True, "sql": result.dry_run_sql or ""}
    if result.nothing_pending:
        run.out.line("nothing pending; nothing changed")
    for m in result.applied:
        run.out.line(f"applied {m['version']}_{m['name']} in {m['seconds']:.2f}s")
    return {"applied": result.applied, "backup": result.backup}


@deploy_task()
def verify(run: Run):
    """Compare the live schema with checks/schema.yaml; list every difference (exit 1 if any)."""
    with rundb.open_db(run) as db:
        differences = schema.verify(db, rundb.schema_spec(run))
    for line in differences:
        run.out.item("fail", line)
    run.out.line("schema matches checks/schema.yaml" if not differences
                 else f"{len(differences)} difference(s)")
    return {"differences": differences, "_exit_code": EXIT_FAILED if differences else 0}


@deploy_task(help={"lock_wait": LOCK_WAIT})
def backup(run: Run, lock_wait: str = None):
    """Take a verified backup now (read back in full), journal it, keep the newest N."""
    with executor.executing(run, "backup", lock_wait_seconds(lock_wait)) as ex:
        record = rundb.take_backup(run, ex)
    return {"backup": record.as_dict()}


@deploy_task()
def backups(run: Run):
    """List this database's local backups, newest first."""
    found = list(reversed(db_backup.list_backups(run.env.database, Path(run.env.root))))
    run.out.table(None, ["id", "path", "size"], [(i, p, f"{p.stat().st_size:,}") for i, p in found])
    return {"backups": [{"id": i, "path": str(p), "size": p.stat().st_size} for i, p in found]}


@deploy_task(help={
    "backup": "the backup id to restore (see db.backups)",
    "confirm": "required: yes, replace the live database with this backup",
    "lock_wait": LOCK_WAIT,
    "dry_run": DRY_RUN,
})
def restore(run: Run, backup: str = None, confirm: bool = False, lock_wait: str = None, dry_run: bool = False):
    """Replace the database with a verified backup (guarded; a backup of the current state comes first)."""
    if not backup:
        raise ConfigError("--backup ID is required (see: invoke db.backups)")
    if run.env.database.dialect == "mssql":
        # A SQL Server restore must end every session of the database - this task's own lock
        # and journal sessions included - so it is the DBA's step, not an unattended one.
        raise ConfigError("db.restore does not run against SQL Server: from master run RESTORE VERIFYONLY, "
                          "then ALTER DATABASE ... SET SINGLE_USER WITH ROLLBACK IMMEDIATE, RESTORE DATABASE "
                          "... WITH CHECKSUM, REPLACE, and SET MULTI_USER (the backup's path is in "
                          "deploy.history)")
    record = _find_backup(run, backup)
    if dry_run:
        return _restore_plan(run, record)
    if not confirm:
        if non_interactive():
            raise ConfigError("db.restore replaces the live database: pass --confirm (never implied in CI)")
        label = db_backup.label(run.env.database)
        answer = input(f"Type the database name ({label}) to replace it with backup {backup}: ")
        if answer.strip() != label:
            raise ConfigError("not confirmed; nothing changed")
    with executor.executing(run, "restore", lock_wait_seconds(lock_wait)) as ex:
        # the current state first, so a restore can be undone too; never prune the one we restore
        before = rundb.take_backup(run, ex, protect=[record.id])
        journal_so_far = journal.query(ex.db, limit=None)
        with ex.step("restore", details={"backup": record.id, "restore_point": before.id}) as notes:
            db_backup.restore(run.database, Path(run.env.root), record)
            # the restored copy holds an older journal: put back what happened since
            notes["journal_events_kept"] = journal.replay_missing(ex.db, journal_so_far)
    run.out.line(f"restored backup {record.id}; the state before is backup {before.id}")
    return {"restored": record.as_dict(), "restore_point": before.as_dict()}


def _find_backup(run: Run, backup_id: str) -> BackupRecord:
    env = run.env
    files = dict(db_backup.list_backups(env.database, Path(env.root)))
    if backup_id not in files:
        known = ", ".join(sorted(files)[-5:]) or "none"
        raise ConfigError(f"unknown backup id {backup_id!r} (newest: {known})")
    path = files[backup_id]
    sha = None
    with rundb.open_db(run) as db:   # the checksum journaled when it was taken, if we have it
        for event in journal.query(db, action="backup", environment=env.name, limit=500):
            if event.details.get("id") == backup_id:
                sha = event.details.get("sha256")
                break
    return db_backup.BackupRecord(backup_id, env.database.dialect, str(path), path.stat().st_size, sha, True)


def _restore_plan(run: Run, record) -> dict:
    """What db.restore would do, step by step; nothing is read but the backup list."""
    from deploy.db.backup_commands import pg_restore as pg_restore_command
    from deploy.db.connect import sqlite_path

    db = run.env.database
    if db.dialect == "sqlite":
        action = f"copy {record.path} over {sqlite_path(db, Path(run.env.root))} with SQLite's backup API"
    else:
        params = odbc.postgres_params(reveal(db.odbc))
        action = str(pg_restore_command(params, "<0600 passfile>", record.path))
    steps = [f"lock    take the deploy lock ({run.env.name}); refuse on a hold or a running deploy",
             f"backup  a verified backup of the current state (the restore point; backup {record.id} is kept)",
             f"verify  backup {record.id}: sha256 {(record.sha256 or '?')[:12]}..., then "
             + ("PRAGMA integrity_check" if db.dialect == "sqlite" else "pg_restore of it to /dev/null"),
             f"restore {action}",
             "journal put back the deploy_events written since the backup was taken"]
    run.out.line(f"db.restore of backup {record.id} - dry run, nothing changes")
    for line in steps:
        run.out.line(f"  {line}")
    return {"dry_run": True, "backup": record.as_dict(), "steps": steps}

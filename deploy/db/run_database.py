"""The task's database, reached from its Run: the connection, the project's sql/ and schema spec,
and the verified backup every database change starts with (journaled as the `backup` step)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deploy.commands.shell import cmd
from deploy.config.shipped import project_path
from deploy.db import backup as db_backup
from deploy.db.backup import BackupRecord
from deploy.db.connect import Database, connect

if TYPE_CHECKING:
    from deploy.executor import Executor
    from deploy.run import Run


def sql_root(run: Run) -> Path:
    return project_path(run.env.root, "sql")


def schema_spec(run: Run) -> Path:
    return project_path(run.env.root, "checks/schema.yaml")


def open_db(run: Run) -> Database:
    return connect(run.database, Path(run.env.root))


def take_backup(run: Run, ex: Executor, protect: list[str] | None = None) -> BackupRecord:
    """A verified backup, journaled; on a configured host (`backups.run_on`) or here."""
    env = run.env
    run.out.info("backup: taking a verified backup ...")
    with ex.step("backup") as notes:
        where = env.database.backups.run_on
        if env.database.dialect == "postgres" and where != "local":
            record = _backup_on_host(run, where, protect or [])
        else:
            record = db_backup.backup(run.database, Path(env.root), protect=protect or [])
        notes.update(record.as_dict())
    size = f"{record.size / 1e6:.1f} MB" if record.size is not None else "on the server"
    run.out.line(f"backup {record.id}: {record.path} ({size}, verified)")
    return record


def _backup_on_host(run: Run, host_name: str, protect: list[str]) -> BackupRecord:
    """pg_dump inside the network: the host reaches the server directly (never through our
    tunnel), into a private temp dir that is removed whatever happens."""
    from deploy.hosts.fleet import Fleet     # paramiko and fabric: only for a backup on a host

    env = run.env
    with Fleet(env) as fleet:
        host = fleet.select(names=[host_name])[0]
        private = host.run(cmd("mktemp", "-d", "/tmp/deploy-backup.XXXXXXXX")).stdout.strip()
        try:
            return db_backup.backup(env.database, Path(env.root), runner=host, remote_dir=private,
                                    protect=protect)
        finally:
            host.run(cmd("rm", "-rf", private), check=False)

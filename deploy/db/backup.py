"""Verified backups, pruning and restore, per dialect.

A backup counts only once it has been read back: sqlite - `PRAGMA integrity_check` on the copy;
postgres - `pg_restore -f /dev/null` reads every block of the archive (a TOC listing would
miss a damaged data block); mssql - `RESTORE VERIFYONLY ... WITH CHECKSUM`. The returned
`BackupRecord` is what the caller journals. `restore()` does no guarding of its own: the caller
asks the operator first, and the file is verified again before anything is overwritten.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

from deploy.config.environment import DatabaseConfig
from deploy.db import backup_commands as bc
from deploy.db import odbc
from deploy.db.connect import connect, sqlite_path
from deploy.db.runner import LocalRunner, Runner
from deploy.errors import StepFailed
from deploy.secrets import mask, reveal


@dataclass(frozen=True)
class BackupRecord:
    id: str
    dialect: str
    path: str                 # local file (sqlite, postgres) or the path on the SQL Server machine
    size: int | None
    sha256: str | None        # None for mssql: the file stays on the server
    verified: bool
    made_on: str = "local"    # where the dump ran (postgres: local or a host name)

    def as_dict(self) -> dict:
        return asdict(self)


def backup_dir(db: DatabaseConfig, root: Path) -> Path:
    path = Path(os.path.expanduser(db.backups.dir))
    return path if path.is_absolute() else Path(root) / path


def label(db: DatabaseConfig) -> str:
    if db.name:
        return db.name
    if db.dialect == "sqlite":
        return Path(db.path).stem
    return odbc.first(odbc.parse(reveal(db.odbc)), "DATABASE", default=db.dialect)


def backup(db: DatabaseConfig, root: Path, *, runner: Runner | None = None, remote_dir: str | None = None,
           pg_bin_dir: str | None = None, now: datetime | None = None,
           protect: Iterable[str] = ()) -> BackupRecord:
    """Take a backup, verify it by reading it back, then prune to the newest `backups.keep`
    (never the ids in `protect`, e.g. the backup a restore is about to read)."""
    bid = bc.backup_id(now)
    if db.dialect == "sqlite":
        record = _backup_sqlite(db, root, bid)
    elif db.dialect == "postgres":
        record = _backup_postgres(db, root, bid, runner or LocalRunner(), remote_dir, pg_bin_dir)
    else:
        record = _backup_mssql(db, root, bid)
    prune(db, root, protect=protect)
    return record


# -- verification ------------------------------------------------------------------------------------
def verify(dialect: str, path: Path, expected_sha256: str | None = None, *, pg_bin_dir: str | None = None) -> None:
    """Read a local backup file back; StepFailed saying what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise StepFailed(f"backup {path} failed verification: file is missing")
    if expected_sha256 and file_sha256(path) != expected_sha256:
        raise StepFailed(f"backup {path} failed verification: sha256 {file_sha256(path)} does not match "
                         f"the recorded {expected_sha256} (the file changed since it was made)")
    if dialect == "sqlite":
        problem = sqlite_problem(path)
    elif dialect == "postgres":
        res = LocalRunner().run(bc.pg_verify(str(path), pg_bin_dir), check=False)
        problem = _last_line(res.stderr or res.stdout) if res.exit_code else None
    else:
        raise StepFailed("mssql backups live on the server: verify them with RESTORE VERIFYONLY")
    if problem:
        raise StepFailed(f"backup {path} failed verification: {problem}")


def sqlite_problem(path: Path) -> str | None:
    """None if integrity_check says ok, else its first complaint."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"sqlite: {exc}"
    found = [r[0] for r in rows]
    return None if found == ["ok"] else "integrity_check: " + "; ".join(found[:3])


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- per dialect ---------------------------------------------------------------------------------------
def _backup_sqlite(db: DatabaseConfig, root: Path, bid: str) -> BackupRecord:
    folder = backup_dir(db, root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / bc.file_name(label(db), "sqlite", bid)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))   # private: it holds every row
    source = connect(db, root)
    try:
        target = sqlite3.connect(str(path))
        try:
            source.conn.backup(target)   # a consistent copy even while others write
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise StepFailed(f"sqlite backup of {sqlite_path(db, root)} failed: {exc}") from None
    finally:
        source.close()
    return _verified(path, "sqlite", bid)


def _backup_postgres(db: DatabaseConfig, root: Path, bid: str, runner: Runner, remote_dir: str | None,
                     pg_bin_dir: str | None) -> BackupRecord:
    params = odbc.postgres_params(reveal(db.odbc))
    folder = backup_dir(db, root)
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / bc.file_name(label(db), "postgres", bid)
    where = getattr(runner, "name", "local")
    with pg_passfile(params, runner, remote_dir, bid) as passfile:
        dump = str(PurePosixPath(remote_dir) / local.name) if remote_dir else str(local)
        run_step(runner, bc.pg_dump(params, passfile, dump, pg_bin_dir), "pg_dump")
        res = runner.run(bc.pg_verify(dump, pg_bin_dir), check=False)
        if res.exit_code != 0:
            _set_aside(local)
            raise StepFailed(f"backup {dump} failed verification: {_last_line(res.stderr or res.stdout)}")
        if remote_dir:
            sha_there = bc.parse_sha256sum(run_step(runner, bc.sha256sum(dump), "sha256sum").stdout)
            runner.get(dump, local)
            os.chmod(local, 0o600)
            runner.run(bc.remove(dump), check=False)
            if file_sha256(local) != sha_there:
                _set_aside(local)
                raise StepFailed(f"backup {local} differs from {dump} on {where} after the download")
    return BackupRecord(bid, "postgres", str(local), local.stat().st_size, file_sha256(local), True, where)


def _backup_mssql(db: DatabaseConfig, root: Path, bid: str) -> BackupRecord:
    disk = _server_path(db.backups.dir, bc.file_name(label(db), "mssql", bid))
    name = db.name or label(db)
    conn = connect(db, root)
    try:
        conn.execute(bc.mssql_backup_sql(name, disk))   # autocommit: BACKUP refuses a transaction
        conn.execute(bc.mssql_verify_sql(disk))
        size = conn.scalar(bc.mssql_size_sql(name))
    finally:
        conn.close()
    return BackupRecord(bid, "mssql", disk, int(size) if size is not None else None, None, True, "server")


def _server_path(folder: str, name: str) -> str:
    sep = "\\" if "\\" in folder or (len(folder) > 1 and folder[1] == ":") else "/"
    return folder.rstrip("\\/") + sep + name


def _verified(path: Path, dialect: str, bid: str) -> BackupRecord:
    problem = sqlite_problem(path)
    if problem:
        _set_aside(path)
        raise StepFailed(f"backup {path} failed verification: {problem}")
    return BackupRecord(bid, dialect, str(path), path.stat().st_size, file_sha256(path), True)


# -- pruning and restore -------------------------------------------------------------------------------
def list_backups(db: DatabaseConfig, root: Path) -> list[tuple[str, Path]]:
    """(id, path) of this database's local backups, oldest first."""
    folder = backup_dir(db, root)
    if db.dialect == "mssql" or not folder.is_dir():
        return []
    found = [(bc.id_of(p.name, label(db), db.dialect), p) for p in folder.iterdir() if p.is_file()]
    return sorted((i, p) for i, p in found if i)


def prune(db: DatabaseConfig, root: Path, keep: int | None = None, protect: Iterable[str] = ()) -> list[Path]:
    """Delete all but the newest `keep` local backups (mssql: files stay on the server)."""
    backups = dict(list_backups(db, root))
    kept = set(protect)
    doomed = [b for b in bc.to_prune(list(backups), keep if keep is not None else db.backups.keep)
              if b not in kept]
    for bid in doomed:
        backups[bid].unlink(missing_ok=True)
    return [backups[b] for b in doomed]


def restore(db: DatabaseConfig, root: Path, record: BackupRecord, *, runner: Runner | None = None,
            pg_bin_dir: str | None = None) -> None:
    """Put the database back to the backup. Verifies the file first; the caller guards the call."""
    if db.dialect == "mssql":
        conn = connect(db, root)
        try:
            conn.execute("USE master")
            for statement in bc.mssql_restore_sql(db.name or label(db), record.path):
                conn.execute(statement)
        finally:
            conn.close()
        return
    verify(db.dialect, Path(record.path), record.sha256, pg_bin_dir=pg_bin_dir)
    if db.dialect == "sqlite":
        source = sqlite3.connect(f"file:{record.path}?mode=ro", uri=True)
        target = connect(db, root)
        try:
            source.backup(target.conn)
        finally:
            source.close()
            target.close()
        return
    params = odbc.postgres_params(reveal(db.odbc))
    runner = runner or LocalRunner()
    with pg_passfile(params, runner, None, "restore") as passfile:
        run_step(runner, bc.pg_restore(params, passfile, record.path, pg_bin_dir), "pg_restore")


# -- helpers ---------------------------------------------------------------------------------------------
@contextmanager
def pg_passfile(params: dict[str, str], runner: Runner, remote_dir: str | None, tag: str) -> Iterator[str]:
    """A 0600 passfile for libpq, here or uploaded beside the remote dump; removed afterwards."""
    private = Path(tempfile.mkdtemp(prefix="deploy-pgpass-"))   # mode 0700
    local = private / "pgpass"
    fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(bc.passfile_line(params))
    try:
        if not remote_dir:
            yield str(local)
            return
        remote = str(PurePosixPath(remote_dir) / f".pgpass-{tag}")
        runner.run(bc.private_file(remote))
        runner.put(local, remote, mode=0o600)
        try:
            yield remote
        finally:
            runner.run(bc.remove(remote), check=False)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def run_step(runner: Runner, command, what: str):
    res = runner.run(command, check=False)
    if res.exit_code != 0:
        raise StepFailed(f"{what} failed ({res.exit_code}): {_last_line(res.stderr or res.stdout)}")
    return res


def _last_line(text: str) -> str:
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return mask(lines[-1].strip()) if lines else "no output"


def _set_aside(path: Path) -> None:
    """Keep a failed backup for inspection, out of the keep-N rotation."""
    if path.exists():
        path.rename(path.with_name(path.name + ".failed"))

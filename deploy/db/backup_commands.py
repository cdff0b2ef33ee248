"""Pure builders for backups: ids, file names, pg_dump/pg_restore commands, T-SQL, pruning.

Credentials never go on a command line: pg_dump and pg_restore read a 0600 passfile named by
PGPASSFILE (the path is not secret), and --no-password makes them fail instead of prompting.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from deploy.commands.shell import PIPE, AND, Command, cmd
from deploy.db.scripts import literal

EXTENSIONS = {"sqlite": "sqlite3", "postgres": "dump", "mssql": "bak"}
_ID = re.compile(r"\d{8}T\d{9}Z")


def backup_id(now: datetime | None = None) -> str:
    """Sortable UTC timestamp with milliseconds: 20240101T120304123Z."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def file_name(label: str, dialect: str, backup_id_: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label) or "database"
    return f"{safe}-{backup_id_}.{EXTENSIONS[dialect]}"


def id_of(name: str, label: str, dialect: str) -> str | None:
    """The backup id inside a file name made by file_name(), else None."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label) or "database"
    m = re.fullmatch(re.escape(safe) + r"-(" + _ID.pattern + r")\." + EXTENSIONS[dialect], name)
    return m.group(1) if m else None


def to_prune(ids: list[str], keep: int) -> list[str]:
    """The ids to delete to keep the newest `keep` (never fewer than one: the newest stays)."""
    keep = max(1, keep)
    newest_first = sorted(set(ids), reverse=True)
    return newest_first[keep:]


# -- postgres ---------------------------------------------------------------------------------------
def passfile_line(params: dict[str, str]) -> str:
    """One ~/.pgpass line (host:port:db:user:password) with ':' and '\\' escaped."""
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace(":", "\\:")
    return ":".join(esc(params[k]) for k in ("host", "port", "dbname", "user", "password")) + "\n"


def _pg(binary: str, bin_dir: str | None) -> str:
    return f"{bin_dir.rstrip('/')}/{binary}" if bin_dir else binary


def _conn_args(params: dict[str, str]) -> tuple:
    return ("--host", params["host"], "--port", params["port"], "--username", params["user"],
            "--dbname", params["dbname"], "--no-password")


def pg_dump(params: dict[str, str], passfile: str, out_path: str, bin_dir: str | None = None) -> Command:
    """The dump holds every row: it is created private (umask 077), like the passfile."""
    return cmd("umask", "077", AND, "env", f"PGPASSFILE={passfile}", "PGCONNECT_TIMEOUT=15", _pg("pg_dump", bin_dir),
               "--format=custom", *_conn_args(params), "--file", out_path)


def pg_verify(path: str, bin_dir: str | None = None) -> Command:
    """Read the whole archive (every data block, not just the TOC) and throw the output away."""
    return cmd(_pg("pg_restore", bin_dir), "--file", "/dev/null", path)


def pg_restore(params: dict[str, str], passfile: str, path: str, bin_dir: str | None = None) -> Command:
    """Replace the public schema with the archive's, atomically.

    `pg_restore --clean` drops only what the archive holds, so restoring a backup taken before a
    migration fails on (or keeps) what the migration added. Instead the archive becomes SQL,
    and psql runs DROP SCHEMA public CASCADE, CREATE SCHEMA public and that SQL in ONE
    transaction: any error leaves the database as it was. The caller verified the archive first.
    """
    conn = ("--host", params["host"], "--port", params["port"], "--username", params["user"],
            "--dbname", params["dbname"], "--no-password")
    return cmd(_pg("pg_restore", bin_dir), "--no-owner", "--file", "-", path, PIPE,
               "env", f"PGPASSFILE={passfile}", "PGCONNECT_TIMEOUT=15", _pg("psql", bin_dir),
               "--single-transaction", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", *conn,
               "--command", "DROP SCHEMA public CASCADE", "--command", "CREATE SCHEMA public",
               "--file", "-")


def private_file(path: str) -> Command:
    """Create an empty 0600 file, so an upload into it (which keeps the mode) is never readable."""
    return cmd("sh", "-c", 'umask 077 && : > "$1"', "sh", path)


def sha256sum(path: str) -> Command:
    return cmd("sha256sum", path)


def parse_sha256sum(stdout: str) -> str:
    token = stdout.strip().split()[0] if stdout.strip() else ""
    if not re.fullmatch(r"[0-9a-f]{64}", token):
        raise ValueError(f"unexpected sha256sum output: {stdout.strip()[:80]!r}")
    return token


def remove(path: str) -> Command:
    return cmd("rm", "-f", path)


# -- mssql (T-SQL; the path is on the SQL Server machine) -------------------------------------------
def _name(database: str) -> str:
    return "[" + database.replace("]", "]]") + "]"


def mssql_backup_sql(database: str, disk_path: str) -> str:
    return (f"BACKUP DATABASE {_name(database)} TO DISK = {literal(disk_path, 'mssql')} "
            "WITH COPY_ONLY, CHECKSUM, INIT")


def mssql_verify_sql(disk_path: str) -> str:
    return f"RESTORE VERIFYONLY FROM DISK = {literal(disk_path, 'mssql')} WITH CHECKSUM"


def mssql_size_sql(database: str) -> str:
    """The size of the newest backup of the database, from msdb's history."""
    return ("SELECT TOP (1) CAST(compressed_backup_size AS BIGINT) FROM msdb.dbo.backupset "
            f"WHERE database_name = {literal(database, 'mssql')} ORDER BY backup_finish_date DESC")


def mssql_restore_sql(database: str, disk_path: str) -> list[str]:
    """Run from master: take the database over, restore it, open it again."""
    name = _name(database)
    return [
        f"ALTER DATABASE {name} SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
        f"RESTORE DATABASE {name} FROM DISK = {literal(disk_path, 'mssql')} WITH CHECKSUM, REPLACE",
        f"ALTER DATABASE {name} SET MULTI_USER",
    ]

"""Pure: migration files, their naming rules, checksums, and the state of each one.

A migration is `<14-digit version>_<snake_name>.sql` with a `.down.sql` partner, in
sql/<dialect>/migrations/. Checksums are sha256 of the normalised text (BOM stripped, CRLF and CR
turned into LF), so a checkout on Windows is not "drift". Every rule breach is a one-line
ConfigError (exit 2): nothing has been changed yet when these run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from deploy.errors import ConfigError

DIALECTS = ("sqlite", "postgres", "mssql")
_UP = re.compile(r"(\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql")
_DOWN = re.compile(r"(\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.down\.sql")
APPLIED, PENDING, DRIFTED, MISSING = "applied", "pending", "drifted", "missing"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    up_sql: str
    down_sql: str

    @property
    def filename(self) -> str:
        return f"{self.version}_{self.name}.sql"

    @property
    def down_filename(self) -> str:
        return f"{self.version}_{self.name}.down.sql"

    @property
    def checksum(self) -> str:
        return checksum(self.up_sql)


@dataclass(frozen=True)
class AppliedRow:
    """One schema_migrations row."""

    version: str
    name: str
    checksum: str
    applied_at: object = None
    applied_by: str = ""
    execution_ms: int | None = None


@dataclass(frozen=True)
class MigrationState:
    version: str
    name: str
    state: str                       # applied | pending | drifted | missing (applied, file gone)
    migration: Migration | None
    applied: AppliedRow | None

    @property
    def filename(self) -> str:
        return f"{self.version}_{self.name}.sql"


def normalise(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown database dialect {dialect!r} (use {', '.join(DIALECTS)})")
    return dialect


def pair_files(names: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """(version, name, up file, down file) sorted by version; the naming rules, without I/O."""
    ups: dict[str, tuple[str, str]] = {}
    downs: dict[str, str] = {}
    for filename in sorted(names):
        if not filename.endswith(".sql"):
            continue
        down, up = _DOWN.fullmatch(filename), _UP.fullmatch(filename)
        if down:
            downs[filename] = down.group(1)
        elif up:
            version = up.group(1)
            if version in ups:
                raise ConfigError(f"duplicate migration version {version}: {ups[version][1]} and {filename}")
            ups[version] = (up.group(2), filename)
        else:
            raise ConfigError(f"misnamed migration file {filename} "
                              "(expected <14-digit version>_<snake_name>.sql or .down.sql)")
    out = []
    for version, (name, filename) in sorted(ups.items()):
        down_file = f"{version}_{name}.down.sql"
        if down_file not in downs:
            raise ConfigError(f"migration {filename} has no down file ({down_file})")
        out.append((version, name, filename, down_file))
    paired = {d for *_, d in out}
    for orphan in sorted(set(downs) - paired):
        raise ConfigError(f"down file {orphan} has no migration ({orphan.replace('.down.sql', '.sql')})")
    return out


def discover(folder: Path) -> list[Migration]:
    """Read sql/<dialect>/migrations/: every migration with its down text, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"no migrations folder {folder}")
    names = [p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return [Migration(version, name, _read(folder / up), _read(folder / down))
            for version, name, up, down in pair_files(names)]


def folder_for(sql_root: Path, dialect: str) -> Path:
    return Path(sql_root) / check_dialect(dialect) / "migrations"


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"migration {path.name} is not UTF-8 text") from None


def states(found: list[Migration], applied: Mapping[str, AppliedRow]) -> list[MigrationState]:
    """Each migration's state, ordered by version: files joined with history rows."""
    by_version = {m.version: m for m in found}
    out = []
    for version in sorted(set(by_version) | set(applied)):
        m, row = by_version.get(version), applied.get(version)
        if row is None:
            state = PENDING
        elif m is None:
            state = MISSING
        else:
            state = APPLIED if m.checksum == row.checksum else DRIFTED
        out.append(MigrationState(version, m.name if m else row.name, state, m, row))
    return out


def refuse_drift(found: list[MigrationState]) -> None:
    """Raise before anything changes if an applied file was edited afterwards."""
    for s in found:
        if s.state == DRIFTED:
            raise ConfigError(f"migration {s.filename} changed after it was applied "
                              f"(applied checksum {s.applied.checksum}, file now {s.migration.checksum}); "
                              "restore the file or write a new migration")


def pending(found: list[MigrationState]) -> list[Migration]:
    return [s.migration for s in found if s.state == PENDING]


def to_roll_back(found: list[MigrationState], steps: int) -> list[MigrationState]:
    """The newest `steps` applied migrations, newest first; each must still have its files."""
    applied = [s for s in found if s.state in (APPLIED, DRIFTED, MISSING)]
    chosen = list(reversed(applied))[:max(0, steps)]
    for s in chosen:
        if s.migration is None:
            raise ConfigError(f"cannot roll back {s.filename}: the file (and its .down.sql) is gone")
    return chosen

"""Verified backups on real SQLite and PostgreSQL: verify, corruption, pruning, restore."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from deploy.config.environment import DatabaseConfig
from deploy.db import backup
from deploy.db.connect import connect
from deploy.db.runner import LocalRunner
from deploy.errors import StepFailed
from deploy.secrets import Secret

pytestmark = pytest.mark.integration


def pg_bin(request, config):
    return str(request.getfixturevalue("postgres").bin_dir) if config.dialect == "postgres" else None


def add_user(config, root, name):
    with connect(config, root) as db:
        db.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (?, ?)', (name, f"{name}@example.com"))


def user_names(config, root):
    with connect(config, root) as db:
        return [r[0] for r in db.query('SELECT "FullName" FROM "Users" ORDER BY "Id"')]


def test_backup_is_verified_and_restores(request, db_target):
    config, root = db_target
    bins = pg_bin(request, config)
    add_user(config, root, "alice")
    record = backup.backup(config, root, pg_bin_dir=bins)
    assert record.verified and record.size > 0 and len(record.sha256) == 64
    assert Path(record.path).is_file() and Path(record.path).parent == root / "backups"
    assert stat.S_IMODE(os.stat(record.path).st_mode) == 0o600       # a backup holds every row
    backup.verify(config.dialect, Path(record.path), record.sha256, pg_bin_dir=bins)

    add_user(config, root, "bob")
    assert user_names(config, root) == ["alice", "bob"]
    backup.restore(config, root, record, pg_bin_dir=bins)
    assert user_names(config, root) == ["alice"]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_corrupted_backup_fails_verification(request, db_target, damage):
    config, root = db_target
    bins = pg_bin(request, config)
    for i in range(3):
        add_user(config, root, f"user{i}")
    record = backup.backup(config, root, pg_bin_dir=bins)
    path = Path(record.path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        middle = len(data) // 2
        for i in range(middle, min(middle + 64, len(data))):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    with pytest.raises(StepFailed, match="failed verification: sha256 .* does not match"):
        backup.verify(config.dialect, path, record.sha256, pg_bin_dir=bins)
    if damage == "truncate":
        # read back without the checksum: the dump/database itself is found broken
        with pytest.raises(StepFailed, match=f"backup {path} failed verification: "):
            backup.verify(config.dialect, path, pg_bin_dir=bins)
    with pytest.raises(StepFailed):
        backup.restore(config, root, record, pg_bin_dir=bins)


def test_keep_newest_n(request, db_target):
    config, root = db_target          # backups.keep = 3
    bins = pg_bin(request, config)
    made = [backup.backup(config, root, pg_bin_dir=bins) for _ in range(5)]
    left = [str(p) for _, p in backup.list_backups(config, root)]
    assert left == [r.path for r in made[-3:]]
    assert sorted(backup.prune(config, root, keep=0)) == [Path(made[-3].path), Path(made[-2].path)]
    assert [str(p) for _, p in backup.list_backups(config, root)] == [made[-1].path]   # the newest stays


class RecordingRunner(LocalRunner):
    """A 'remote' host that is this machine: records commands and uploads."""

    name = "db-host"

    def __init__(self):
        super().__init__()
        self.commands, self.uploads = [], []

    def run(self, command, timeout=None, check=True):
        self.commands.append(str(command))
        return super().run(command, timeout, check)

    def put(self, local_path, remote_path, mode=None):
        self.uploads.append((remote_path, mode))
        super().put(local_path, remote_path, mode)
        assert stat.S_IMODE(os.stat(remote_path).st_mode) == 0o600


def test_postgres_dump_on_a_runner_host_keeps_the_password_off_command_lines(postgres, tmp_path):
    config = DatabaseConfig(dialect="postgres", odbc=Secret(postgres.fresh_database("remote_dump")),
                            backups={"dir": "backups", "keep": 2})
    root, bins = tmp_path, str(postgres.bin_dir)
    remote = tmp_path / "remote"
    remote.mkdir()
    runner = RecordingRunner()
    record = backup.backup(config, root, runner=runner, remote_dir=str(remote), pg_bin_dir=bins)
    assert record.made_on == "db-host" and record.verified
    assert stat.S_IMODE(os.stat(record.path).st_mode) == 0o600
    assert any("pg_dump" in c for c in runner.commands) and any("/dev/null" in c for c in runner.commands)
    password = postgres.password
    assert all(password not in c for c in runner.commands)
    assert runner.uploads and runner.uploads[0][1] == 0o600
    assert list(remote.iterdir()) == []          # passfile and remote dump cleaned up

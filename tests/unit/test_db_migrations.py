"""Pure migration rules: naming, pairing, ordering, checksums, states, drift."""

from __future__ import annotations

import pytest

from deploy.db.migrations import (APPLIED, DRIFTED, MISSING, PENDING, AppliedRow, Migration, check_dialect,
                                  checksum, discover, folder_for, normalise, pair_files, pending,
                                  refuse_drift, states, to_roll_back)
from deploy.errors import ConfigError

UP, DOWN = "20240101000000_add_seller_ratings.sql", "20240101000000_add_seller_ratings.down.sql"


def test_pairs_are_ordered_by_version_and_other_files_ignored():
    names = ["20240301000000_b.sql", "20240301000000_b.down.sql", UP, DOWN, "README.md", ".keep"]
    assert pair_files(names) == [
        ("20240101000000", "add_seller_ratings", UP, DOWN),
        ("20240301000000", "b", "20240301000000_b.sql", "20240301000000_b.down.sql"),
    ]


@pytest.mark.parametrize("bad", [
    "2024_add.sql", "20240101000000-add.sql", "20240101000000_Add.sql", "20240101000000_add-x.sql",
    "202401010000001_add.sql", "20240101000000_.sql", "add_seller_ratings.sql", "20240101000000_add.up.sql",
])
def test_misnamed_files_are_refused_with_one_line(bad):
    with pytest.raises(ConfigError) as err:
        pair_files([bad, UP, DOWN])
    assert str(err.value).startswith(f"misnamed migration file {bad} ")
    assert "\n" not in str(err.value)


def test_missing_down_file():
    with pytest.raises(ConfigError, match=f"migration {UP} has no down file \\({DOWN}\\)"):
        pair_files([UP])


def test_down_file_without_its_migration():
    with pytest.raises(ConfigError, match="down file 20240202000000_x.down.sql has no migration"):
        pair_files([UP, DOWN, "20240202000000_x.down.sql"])


def test_duplicate_version():
    with pytest.raises(ConfigError, match="duplicate migration version 20240101000000: "):
        pair_files([UP, DOWN, "20240101000000_other.sql", "20240101000000_other.down.sql"])


def test_unknown_dialect(tmp_path):
    with pytest.raises(ConfigError, match="unknown database dialect 'oracle'"):
        check_dialect("oracle")
    with pytest.raises(ConfigError, match="unknown database dialect 'mysql'"):
        folder_for(tmp_path, "mysql")


def test_discover_reads_text_without_bom(tmp_path):
    (tmp_path / UP).write_bytes(b"\xef\xbb\xbfCREATE TABLE x (a int);\r\n")
    (tmp_path / DOWN).write_text("DROP TABLE x;\n")
    [m] = discover(tmp_path)
    assert (m.version, m.name, m.filename, m.down_filename) == ("20240101000000", "add_seller_ratings", UP, DOWN)
    assert m.up_sql.startswith("CREATE") and m.checksum == checksum("CREATE TABLE x (a int);\n")
    with pytest.raises(ConfigError, match="no migrations folder"):
        discover(tmp_path / "nope")


def test_checksum_normalises_bom_and_line_endings():
    lf = "CREATE TABLE a (x int);\nGO\n"
    assert normalise("\ufeff" + lf.replace("\n", "\r\n")) == lf
    assert checksum(lf) == checksum("\ufeff" + lf) == checksum(lf.replace("\n", "\r\n")) == checksum(lf.replace("\n", "\r"))
    assert checksum(lf) != checksum(lf + " ")
    assert len(checksum(lf)) == 64


def mig(version, text="x"):
    return Migration(version, f"m{version[-1]}", text, "down")


def row(m, sum_=None):
    return AppliedRow(m.version, m.name, sum_ or m.checksum)


def test_states_and_drift():
    a, b, c = mig("20240101000001"), mig("20240101000002"), mig("20240101000003")
    gone = AppliedRow("20230101000000", "old", "f" * 64)
    found = states([a, b, c], {a.version: row(a), b.version: row(b, "0" * 64), gone.version: gone})
    assert [(s.version, s.state) for s in found] == [
        ("20230101000000", MISSING), (a.version, APPLIED), (b.version, DRIFTED), (c.version, PENDING)]
    assert pending(found) == [c]
    with pytest.raises(ConfigError) as err:
        refuse_drift(found)
    text = str(err.value)
    assert f"migration {b.filename} changed after it was applied" in text
    assert "0" * 64 in text and b.checksum in text


def test_roll_back_newest_first():
    a, b, c = mig("20240101000001"), mig("20240101000002"), mig("20240101000003")
    found = states([a, b, c], {a.version: row(a), b.version: row(b)})
    assert [s.version for s in to_roll_back(found, 2)] == [b.version, a.version]
    assert [s.version for s in to_roll_back(found, 9)] == [b.version, a.version]
    assert to_roll_back(found, 0) == []
    gone = states([a], {"20240101000009": AppliedRow("20240101000009", "z", "f" * 64), a.version: row(a)})
    with pytest.raises(ConfigError, match="cannot roll back 20240101000009_z.sql"):
        to_roll_back(gone, 1)

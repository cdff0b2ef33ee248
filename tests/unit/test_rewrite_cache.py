"""tests/support/rewrite_cache.py: which files the xdist controller rewrites ahead of its workers."""

from pathlib import Path
from types import SimpleNamespace

from tests.support.rewrite_cache import candidate_files


def config(tmp_path: Path, *args: str):
    ini = {"python_files": ["test_*.py", "*_test.py"], "norecursedirs": ["node_modules", ".*"]}
    return SimpleNamespace(args=list(args), getini=ini.__getitem__,
                           invocation_params=SimpleNamespace(dir=tmp_path))


def test_test_modules_under_the_paths_and_not_in_skipped_folders(tmp_path):
    for name in ("tests/test_a.py", "tests/sub/b_test.py", "tests/helper.py", "tests/conftest.py",
                 "tests/node_modules/test_c.py", "tests/.hidden/test_d.py", "other/test_e.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert candidate_files(config(tmp_path, "tests")) == [tmp_path / "tests/sub/b_test.py", tmp_path / "tests/test_a.py"]
    assert candidate_files(config(tmp_path, "other/test_e.py::test_x", "nowhere")) == [tmp_path / "other/test_e.py"]

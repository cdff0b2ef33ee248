"""Strict means strict: no test may skip on its own terms. Every skip goes through
tests/support/strict.py (which fails under DEPLOY_TEST_STRICT=1), and the conftest hook turns any
other skip or xfail into a failure in strict mode."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
ALLOWED = {TESTS / "support" / "strict.py"}
# names that skip or expect failure without asking strict mode
SKIPPERS = {"importorskip", "skip", "skipif", "xfail", "skipTest", "skipIf", "skipUnless", "SkipTest",
            "expectedFailure"}


def bare_skips(path: Path) -> list[tuple[int, str]]:
    """(line, what) of each use - call, decorator, marker, import - of a skipping name; code only
    (the AST), so the words in strings and comments do not count."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr in SKIPPERS:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and any(a.name in SKIPPERS for a in node.names):
            found.append((node.lineno, f"from {node.module} import"))   # covers the bare name's uses
    return sorted(found)


def test_no_skip_in_tests_bypasses_strict_mode():
    files = sorted(p for p in TESTS.rglob("*.py") if p not in ALLOWED)
    assert len(files) > 40
    bad = [f"{path.relative_to(REPO)}:{line}: {what} (use tests.support.strict.missing / need_module)"
           for path in files for line, what in bare_skips(path)]
    assert bad == []


def test_the_scan_sees_each_form_and_ignores_strings_and_comments(tmp_path):
    sample = tmp_path / "t.py"
    sample.write_text(textwrap.dedent('''\
        import pytest
        from unittest import SkipTest
        sqlglot = pytest.importorskip("sqlglot")
        @pytest.mark.skipif(True, reason="x")
        def test_a(): pytest.skip("y")
        @pytest.mark.xfail
        def test_b(self): self.skipTest("z")
        text = "pytest.skip('in a string')"   # pytest.skip in a comment
        skip = SkipTest                        # a variable called skip is not a skip
        '''))
    assert bare_skips(sample) == [(2, "from unittest import"), (3, ".importorskip"), (4, ".skipif"),
                                  (5, ".skip"), (6, ".xfail"), (7, ".skipTest")]


def test_the_conftest_hook_fails_any_skip_in_strict_mode(tmp_path):
    """A skip that does not go through strict.py (a plugin's, a marker's) still fails CI."""
    (tmp_path / "test_probe.py").write_text(textwrap.dedent('''\
        import pytest
        @pytest.mark.skip(reason="a marker")
        def test_marked(): pass
        def test_dynamic(): pytest.skip("called")
        @pytest.mark.xfail(reason="expected")
        def test_xfailed(): assert False
        def test_passes(): pass
        '''))
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
               "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    strict_run = subprocess.run(command, cwd=REPO, env={**env, "DEPLOY_TEST_STRICT": "1"},
                                capture_output=True, text=True, timeout=120)
    assert strict_run.returncode == 1, strict_run.stdout
    assert "2 failed, 1 passed, 1 error" in strict_run.stdout, strict_run.stdout   # the marker: at setup
    for reason in ("skipped: a marker", "skipped: called", "skipped: expected"):
        assert reason in strict_run.stdout
    lenient = subprocess.run(command, cwd=REPO, env={**env, "DEPLOY_TEST_STRICT": "0"},
                             capture_output=True, text=True, timeout=120)
    assert lenient.returncode == 0, lenient.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in lenient.stdout, lenient.stdout

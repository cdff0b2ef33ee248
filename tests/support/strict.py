"""Skip-or-fail for tests that need a system part (shared/TESTING.md, "Strict mode").

Without the part a test skips with a one-line reason; with DEPLOY_TEST_STRICT=1 (set by .ci/run)
the same situation fails, so CI can never go green by skipping.
"""

from __future__ import annotations

import os

import pytest


def strict() -> bool:
    return os.environ.get("DEPLOY_TEST_STRICT", "") not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip (or, in strict mode, fail) because a system part is missing."""
    if strict():
        pytest.fail(f"strict mode: {reason}", pytrace=False)
    pytest.skip(reason)


def need_root() -> None:
    if os.geteuid() != 0:
        missing("needs root (network namespaces, sshd, service users)")


def need_binary(name: str) -> str:
    """The path of a program from the one list (tests/support/programs.py), or skip/fail naming
    its package. A program not on that list is an error: CI would not install it."""
    from tests.support import programs
    if name not in programs.PROGRAMS:
        raise AssertionError(f"{name} is not in tests/support/programs.py: add it there and to "
                             ".ci/install-system.sh, so a fresh machine installs it")
    return programs.need(name)


def need_module(name: str, hint: str = "pip install -e '.[test]'"):
    """Import and return a Python module a test needs, or skip/fail naming it (never
    pytest.importorskip, which skips even in strict mode)."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"needs the Python module {name} ({hint})")
        raise AssertionError("unreachable")

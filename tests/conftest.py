"""Shared fixtures: each system part lives in its own plugin under tests/support/."""

import pytest

from deploy import secrets

pytest_plugins = [
    "tests.support.fleet",
    "tests.support.postgres",
]


@pytest.fixture(autouse=True)
def _forget_secrets():
    """The mask registry is process-wide: a secret one test loads must not mask another's text."""
    yield
    with secrets._lock:
        secrets._known.clear()

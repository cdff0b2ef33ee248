"""Shared fixtures: each system part lives in its own plugin under tests/support/."""

import sys

# pytest keeps its assertion-rewritten test modules as .pyc files (git-ignored __pycache__) only
# while bytecode writing is on. With PYTHONDONTWRITEBYTECODE set, as on these machines, every
# pytest process (each xdist worker collects the whole suite) parsed and rewrote all ~130 modules
# again: 7.9 CPU-s per `pytest --collect-only tests`, 2.0-2.9 with the cache. Set before the
# plugins below are imported, so they are cached too. Programs the tests start keep the setting.
sys.dont_write_bytecode = False

import pytest

from deploy import secrets
from tests.support import order, strict

pytest_plugins = [
    "tests.support.cpu_cost",
    "tests.support.fleet",
    "tests.support.postgres",
    "tests.support.rewrite_cache",
]


@pytest.fixture(autouse=True)
def _forget_secrets():
    """The mask registry is process-wide: a secret one test loads must not mask another's text."""
    yield
    with secrets._lock:
        secrets._known.clear()


def pytest_collection_modifyitems(config, items):
    """Tests marked `long` head the xdist workers' shares, so none starts late (tests/support/order.py)."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    items[:] = order.long_first(items, lambda item: item.get_closest_marker("long") is not None, workers)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Strict mode (DEPLOY_TEST_STRICT=1): a skip or xfail from anywhere - a marker, a plugin, a
    bare pytest.skip - is a failure, so CI can never go green by skipping (tests/support/strict.py)."""
    outcome = yield
    report = outcome.get_result()
    if strict.strict() and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else getattr(report, "wasxfail", "")
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"strict mode (DEPLOY_TEST_STRICT=1): skipped: {reason}"

"""Shared fixtures: each system part lives in its own plugin under tests/support/."""

pytest_plugins = [
    "tests.support.fleet",
    "tests.support.postgres",
]

"""The env-var rules of checks/preflight.yaml, pure."""

import pytest

from deploy.preflight.spec import EnvRule, check_value, database_url_problem


@pytest.mark.parametrize("url", [
    "sqlite:////tmp/x.db",
    "sqlserver://TYCHOSTATION:1433;database=MARKETPLACE_DB;encrypt=true",
    "postgresql://u:p@db:5432/market",
    "Driver={PostgreSQL Unicode};Server=127.0.0.1;Database=m",
])
def test_database_urls_that_parse(url):
    assert database_url_problem(url) is None


@pytest.mark.parametrize("url", ["sqlite:///", "sqlserver://host:1433", "mysql://x", "hello"])
def test_database_urls_that_do_not(url):
    assert database_url_problem(url)


def test_rules_never_echo_the_value():
    secret = "short-secret"
    problem = check_value("JWT_SECRET", secret, EnvRule(required=True, min_length=32))
    assert problem == "JWT_SECRET is too short (12 chars, needs at least 32)"
    assert secret not in problem
    assert check_value("JWT_SECRET", None, EnvRule(required=True)) == "JWT_SECRET is missing"
    assert check_value("X", "0", EnvRule(kind="positive_int")) == "X must be a positive integer"
    assert check_value("P", "101", EnvRule(kind="percentage"))
    assert check_value("P", "", EnvRule()) is None

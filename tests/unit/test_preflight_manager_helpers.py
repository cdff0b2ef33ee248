"""Preflight's host section checks every program the process manager's commands run on a host:
supervisor restarts start supervisord when it does not answer, and restarts and stops run
deploy/process/supervisor_rpc.py with the python3 beside it, so a host without either fails preflight
instead of phase 2's first restart. supervisorctl is not needed: the pipeline never runs it."""

from __future__ import annotations

import posixpath

import pytest

from deploy.config import environment as config
from deploy.preflight import checklist as preflight
from deploy import process
from deploy.hosts.facts import SEPARATOR
from deploy.hosts.fleet import FleetResult, HostOutcome
from deploy.preflight.spec import PreflightSpec
from tests.support.envs import REPO

MEMINFO = "MemTotal: 24576000 kB\nMemAvailable: 20480000 kB\n"
DF = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 264000000 23000000 83886080 22% /\n"


def fake_fleet(found: set[str]):
    """A Fleet whose one host answers the facts command with these tools present."""
    class Host:
        name = "local"

        def run(self, command, timeout=30):
            tools = [t for t in command.render().split("command -v ")[1:]]
            names = [t.split(" ||")[0].strip("'") for t in tools]
            which = "\n".join(n if posixpath.basename(n) in found else f"missing:{n}" for n in names)
            stdout = f"2\n{SEPARATOR}\n{MEMINFO}{SEPARATOR}\n{DF}{SEPARATOR}\n{__import__('time').time()}\n{SEPARATOR}\n{which}\n"
            return type("Res", (), {"stdout": stdout})()

    class Fleet:
        def __init__(self, env):
            self.hosts = [Host()]

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def run(self, work, size, max_fail):
            return FleetResult([HostOutcome("local", True, work(self.hosts[0]))])

    return Fleet


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("DEPLOY_ROOT", str(REPO))
    monkeypatch.setenv("JWT_SECRET", "s" * 48)
    env = config.load("local")
    assert process.for_environment(env).name == "supervisor"
    return env


@pytest.mark.parametrize("present, verdict", [({"supervisord", "python3"}, "pass"), ({"supervisord"}, "fail")])
def test_supervisor_hosts_need_the_python3_beside_supervisord(env, monkeypatch, present, verdict):
    monkeypatch.setattr(preflight, "Fleet", fake_fleet(present))
    items = {i.name: i for i in preflight.check_hosts(env, PreflightSpec())}
    assert items["local: supervisor"].status == "pass"
    helper = items["local: supervisor needs python3"]
    assert helper.status == verdict
    if verdict == "fail":
        assert helper.detail.endswith("python3 not found (restarts and stops run it beside "
                                      f"{process.for_environment(env).binary})")


def test_supervisor_hosts_need_supervisord_not_supervisorctl(env, monkeypatch):
    monkeypatch.setattr(preflight, "Fleet", fake_fleet({"supervisorctl", "python3"}))
    items = {i.name: i for i in preflight.check_hosts(env, PreflightSpec())}
    daemon = items["local: supervisor"]
    assert daemon.status == "fail" and daemon.detail.endswith("supervisord not found on PATH"), daemon
    monkeypatch.setattr(preflight, "Fleet", fake_fleet({"supervisord", "python3"}))
    items = {i.name: i for i in preflight.check_hosts(env, PreflightSpec())}
    assert items["local: supervisor"].status == "pass" and items["local: supervisor"].detail.endswith("supervisord")

"""--host / --role selection against the inventory (pure)."""

from __future__ import annotations

import pytest

from deploy.config.environment import Environment, HostConfig
from deploy.errors import ConfigError
from deploy.engine.targets import names, select


def env() -> Environment:
    hosts = [HostConfig(name=n, transport="local", roles=r) for n, r in
             [("api-1", ["api"]), ("api-2", ["api"]), ("web-1", ["web"]), ("both", ["api", "web"])]]
    return Environment.model_construct(name="production", hosts=hosts)


def api_hosts(e: Environment) -> list[HostConfig]:
    return [h for h in e.hosts if "api" in h.roles]


def test_names_take_repeats_and_comma_lists():
    assert names(["api-1,api-2", "api-1", " web-1 "]) == ["api-1", "api-2", "web-1"]
    assert names("a") == ["a"] and names(None) == []


def test_no_filter_keeps_every_candidate():
    e = env()
    assert [h.name for h in select(e, api_hosts(e))] == ["api-1", "api-2", "both"]


def test_host_and_role_both_hold():
    e = env()
    assert [h.name for h in select(e, api_hosts(e), ["api-2"])] == ["api-2"]
    assert [h.name for h in select(e, e.hosts, roles=["web"])] == ["web-1", "both"]
    assert [h.name for h in select(e, e.hosts, ["api-1,both"], ["web"])] == ["both"]


@pytest.mark.parametrize("hosts, roles, message", [
    (["api-9"], [], "--host: unknown host(s) api-9 (hosts of production: api-1, api-2, web-1, both)"),
    ([], ["db"], "--role: unknown role(s) db (roles of production: api, web)"),
    (["web-1"], [], "--host: web-1 not among the hosts of api (api-1, api-2, both)"),
    (["api-1"], ["web"], "--role web: none of the hosts of api has it (api-1, api-2, both)"),
])
def test_bad_names_are_one_line_naming_the_known_ones(hosts, roles, message):
    e = env()
    with pytest.raises(ConfigError) as err:
        select(e, api_hosts(e), hosts, roles, "api")
    assert str(err.value) == message

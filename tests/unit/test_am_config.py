"""The Alertmanager config builder (pure): receivers, severity routing, grouping, secrets only in
the file's text (`amtool check-config` runs it in tests/integration/test_alerts_alertmanager.py)."""

from __future__ import annotations

import pytest
import yaml

from deploy.config.environment import AlertmanagerSettings, NotifySettings
from deploy.errors import ConfigError
from deploy.monitoring import am_config
from deploy.secrets import Secret

HOOK = "https://hooks.slack.com/services/T0AAA/B0BBB/am-config-unit-token"
KEY = "pd-routing-key-am-config-unit-0001"


def settings(**values) -> AlertmanagerSettings:
    base = {"slack_webhook": Secret(HOOK, "hook"), "pagerduty_routing_key": Secret(KEY, "key")}
    return AlertmanagerSettings(**{**base, **values})


def test_critical_pages_and_posts_warning_posts_grouped_by_alertname_and_host():
    doc = am_config.build(settings(slack_channel="#alerts", group_wait=10, group_interval=60,
                                   repeat_interval=7200), "production")
    route = doc["route"]
    assert route["group_by"] == ["alertname", "host"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("10s", "1m", "2h")
    assert route["routes"] == [{"receiver": "pagerduty", "matchers": ['severity="critical"'], "continue": True},
                               {"receiver": "slack"}]
    assert am_config.routing(doc) == {"critical": ["pagerduty", "slack"], "warning": ["slack"]}
    receivers = {r["name"]: r for r in doc["receivers"]}
    slack = receivers["slack"]["slack_configs"][0]
    assert slack["channel"] == "#alerts" and slack["send_resolved"] is True
    assert "{{ .Annotations.runbook }}" in slack["text"]
    pager = receivers["pagerduty"]["pagerduty_configs"][0]
    assert pager["severity"] == "critical" and "url" not in pager        # PagerDuty's own endpoint
    assert pager["details"]["environment"] == "production"


def test_secrets_are_in_the_files_text_only():
    doc = am_config.build(settings(pagerduty_url="http://127.0.0.1:9/v2/enqueue"), "p")
    shown = am_config.render(doc)
    assert HOOK not in shown and KEY not in shown and shown.count("'***'") == 2
    assert HOOK not in str(am_config.data(doc)) and KEY not in str(am_config.data(doc))
    written = yaml.safe_load(am_config.render(doc, reveal_secrets=True))
    receivers = {r["name"]: r for r in written["receivers"]}
    assert receivers["slack"]["slack_configs"][0]["api_url"] == HOOK
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key"] == KEY
    assert receivers["pagerduty"]["pagerduty_configs"][0]["url"] == "http://127.0.0.1:9/v2/enqueue"


def test_values_typed_as_text_are_still_masked():
    doc = am_config.build(AlertmanagerSettings(slack_webhook="https://hooks.example/typed-in-token-1",
                                               pagerduty_routing_key="typed-in-routing-key-2"), "p")
    shown = am_config.render(doc)
    assert "typed-in-token-1" not in shown and "typed-in-routing-key-2" not in shown


def test_only_slack_sends_critical_to_slack_only_pagerduty_drops_warnings():
    slack_only = am_config.build(settings(pagerduty_routing_key=""), "p")
    assert am_config.routing(slack_only) == {"critical": ["slack"], "warning": ["slack"]}
    assert [r["name"] for r in slack_only["receivers"]] == ["slack"]
    pager_only = am_config.build(settings(slack_webhook=None), "p")
    assert am_config.routing(pager_only) == {"critical": ["pagerduty"], "warning": ["none"]}
    assert pager_only["route"]["receiver"] == "none" and {"name": "none"} in pager_only["receivers"]


@pytest.mark.parametrize("values, message", [
    ({"slack_webhook": "", "pagerduty_routing_key": None},
     "environments/p.yaml: notify.alertmanager: set slack_webhook and/or pagerduty_routing_key"),
    ({"slack_webhook": Secret("hooks.slack.com/services/no-scheme", "h")},
     "environments/p.yaml: notify.alertmanager.slack_webhook: expected an http(s) URL"),
    ({"pagerduty_url": "events.pagerduty.com"},
     "environments/p.yaml: notify.alertmanager.pagerduty_url: expected an http(s) URL"),
    ({"url": "alertmanager:9093"}, "environments/p.yaml: notify.alertmanager.url: expected an http(s) URL"),
])
def test_bad_settings_are_one_line_without_the_value(values, message):
    with pytest.raises(ConfigError) as caught:
        am_config.build(settings(**values), "p", "environments/p.yaml")
    assert str(caught.value).startswith(message)
    assert "no-scheme" not in str(caught.value)


def test_notify_section_accepts_alertmanager_and_refuses_unknown_keys():
    notify = NotifySettings.model_validate({"alertmanager": {"url": "http://am:9093", "expire_after": "2h"}})
    assert notify.alertmanager.expire_after == 7200
    assert NotifySettings().alertmanager == AlertmanagerSettings()
    with pytest.raises(ValueError, match="extra"):
        NotifySettings.model_validate({"alertmanager": {"slack": "x"}})

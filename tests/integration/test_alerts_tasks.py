"""monitor.rules and monitor.alertmanager-config as a user runs them (the real `invoke` in a
subprocess against a throwaway project): what they print, write and refuse; secrets only in the
written file. And monitor.alerts with an Alertmanager that does not answer: a warning, not a
different exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from deploy.monitoring import prom_rules
from deploy.monitoring.alerts_spec import AlertSpec
from tests.integration.test_monitor_support import make_project
from tests.support import invoke_fork, strict
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
JWT = "jwt-" + "a" * 40
HOOK = "https://hooks.slack.com/services/T0/B0/tasks-test-hook-token"
KEY = "pd-routing-key-tasks-test-0123456789"
ENV = """
secrets: [TEST_JWT, SLACK_ALERTS_WEBHOOK, PAGERDUTY_ROUTING_KEY]
hosts:
  - {name: box, transport: local, roles: [api]}
database: {dialect: sqlite, path: db.sqlite}
env:
  JWT_SECRET: ${TEST_JWT}
notify:
  alertmanager:
    slack_webhook: "${SLACK_ALERTS_WEBHOOK:-}"
    pagerduty_routing_key: "${PAGERDUTY_ROUTING_KEY:-}"
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.yaml").write_text(textwrap.dedent(ENV))
    (tmp_path / "checks").mkdir()
    return tmp_path


def invoke(root: Path, *args: str, secrets: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "TEST_JWT": JWT, "CI": "true"})
    if secrets:
        env.update({"SLACK_ALERTS_WEBHOOK": HOOK, "PAGERDUTY_ROUTING_KEY": KEY})
    proc = invoke_fork.run([sys.executable, "-m", "invoke", *args, "--env", "t"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    for secret in (JWT, HOOK, KEY, "tasks-test-hook-token"):
        assert secret not in proc.stdout + proc.stderr
    return proc


def one_line_exit_2(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {expected}"], proc.stderr


def test_rules_print_write_and_refuse(tmp_path):
    root = project(tmp_path)
    (root / "checks" / "alerts.yaml").write_text("error_rate: {max_percent: 2, for: 1m}\n")
    printed = invoke(root, "monitor.rules")
    assert printed.returncode == 0
    expected = prom_rules.render(AlertSpec.model_validate({"error_rate": {"max_percent": 2, "for": "1m"}}), "t")
    assert printed.stdout == expected
    doc = json.loads(invoke(root, "monitor.rules", "--json").stdout)
    assert doc["rules"] == ["MarketplaceApiErrorRate", "MarketplaceApiLatency", "MarketplaceApiRateLimited",
                            "MarketplaceApiDown"] and doc["text"] == expected
    out = tmp_path / "out" / "rules.yml"
    one_line_exit_2(invoke(root, "monitor.rules", "--out", str(out)),
                    f"--out: folder {out.parent} does not exist")
    out.parent.mkdir()
    written = invoke(root, "monitor.rules", "--out", str(out))
    assert written.returncode == 0 and out.read_text() == expected
    assert f"wrote {out}: 4 rule(s)" in written.stdout
    (root / "checks" / "alerts.yaml").write_text("latency: {severity: page}\n")
    one_line_exit_2(invoke(root, "monitor.rules", "--out", str(out)),
                    "checks/alerts.yaml: latency.severity: Input should be 'critical' or 'warning'")
    assert out.read_text() == expected                                # nothing changed


def test_alertmanager_config_masks_what_it_shows_and_writes_the_secrets_0600(tmp_path):
    strict.need_binary("amtool")
    root = project(tmp_path)
    shown = invoke(root, "monitor.alertmanager-config")
    assert shown.returncode == 0 and shown.stdout.count("'***'") == 2
    assert yaml.safe_load(shown.stdout)["route"]["group_by"] == ["alertname", "host"]
    doc = json.loads(invoke(root, "monitor.alertmanager-config", "--json").stdout)
    assert doc["routing"] == {"critical": ["pagerduty", "slack"], "warning": ["slack"]}
    assert doc["config"]["receivers"][0]["pagerduty_configs"][0]["routing_key"] == "***"
    out = tmp_path / "alertmanager.yml"
    written = invoke(root, "monitor.alertmanager-config", "--out", str(out), "--check")
    assert written.returncode == 0, written.stderr
    assert "amtool check-config: SUCCESS" in written.stdout
    assert f"wrote {out} (0600): critical -> pagerduty, slack; warning -> slack" in written.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    config = yaml.safe_load(out.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["slack"]["slack_configs"][0]["api_url"] == HOOK
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key"] == KEY


def test_alertmanager_config_without_receivers_is_bad_input(tmp_path):
    root = project(tmp_path)
    one_line_exit_2(invoke(root, "monitor.alertmanager-config", secrets=False),
                    "environments/t.yaml: notify.alertmanager: set slack_webhook and/or pagerduty_routing_key: "
                    "there is nowhere to send alerts")


def test_an_alertmanager_that_does_not_answer_is_a_warning(tmp_path, request):
    monitor = make_project("sqlite", tmp_path, request)
    monitor.alerts_yaml("error_rate: {enabled: false}\nlatency: {enabled: false}\nrate_limit: {enabled: false}\n")
    env_file = monitor.root / "environments" / "t.yaml"
    env = yaml.safe_load(env_file.read_text())
    env["notify"] = {"alertmanager": {"url": f"http://127.0.0.1:{free_port()}", "slack_webhook": HOOK}}
    env_file.write_text(yaml.safe_dump(env))
    with monitor.db() as db:
        db.execute('UPDATE "Users" SET "PositiveRatings" = 0 WHERE "Id" = 1')
    proc = monitor.run("monitor.alerts", "--json")
    assert proc.returncode == 1                                       # the alert decides, not the delivery
    doc = json.loads(proc.stdout)
    assert doc["alertmanager"] == {"posted": False, "error": "cannot reach it (ConnectionError)"}
    assert "warning: alertmanager: not delivered: cannot reach it (ConnectionError)" in proc.stderr

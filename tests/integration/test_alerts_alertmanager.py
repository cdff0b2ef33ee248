"""The alerts end to end on Debian's prometheus and prometheus-alertmanager, started here on
127.0.0.1 and free ports, configured only by what the pipeline renders (`monitor.rules`,
`monitor.alertmanager-config` with short `for:` and group timings from the test project):

- Prometheus scrapes the stand-in API every second; the API turns bad (its ratings table gone:
  503s); the error-rate alert reaches the Slack stand-in and, being critical, the PagerDuty
  stand-in (pagerduty_configs.url); a silence made with amtool stops the repeats. The time from
  the API turning bad to each receiver is printed (run with -s to see it).
- monitor.alerts posts the database alerts to Alertmanager's API: a discrepancy reaches Slack
  (a warning: not PagerDuty), and after monitor.recalculate the next run resolves it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import textwrap
import threading
import time

import pytest
import requests
import yaml

from deploy.demo.traffic import token
from tests.integration.test_monitor_support import MonitorProject, StandinApi, make_project
from tests.support.envs import APP_ENV
from tests.support import strict
from tests.support.promstack import Alertmanager, Prometheus, Receiver, wait_until

ROUTING_KEY = "pd-routing-key-e2e-0123456789abcdef"
SELLER_PAGE = "/api/v1/ratings/seller/1"
FAST_HTTP_RULES = textwrap.dedent("""\
    api: {min_requests: 20}
    error_rate: {for: 2s}
    latency: {for: 2s}
    rate_limit: {for: 2s}
    discrepancies: {enabled: false}
    rating_spike: {enabled: false}
    prometheus: {rate_window: 10s, down_for: 2s}
""")
DATABASE_ONLY = "error_rate: {enabled: false}\nlatency: {enabled: false}\nrate_limit: {enabled: false}\n"


class Stack:
    """A project whose environment routes alerts to two local receivers through Alertmanager."""

    def __init__(self, project: MonitorProject, slack: Receiver, pager: Receiver, alertmanager: Alertmanager):
        self.project, self.slack, self.pager, self.am = project, slack, pager, alertmanager
        env_file = project.root / "environments" / "t.yaml"
        env = yaml.safe_load(env_file.read_text())
        env["notify"] = {"alertmanager": {
            "url": alertmanager.url,
            "slack_webhook": "${SLACK_ALERTS_WEBHOOK}",
            "pagerduty_routing_key": "${PAGERDUTY_ROUTING_KEY}",
            "pagerduty_url": pager.url,
            "group_wait": "1s", "group_interval": "2s", "repeat_interval": "3s",
        }}
        env["secrets"] = sorted(set(env.get("secrets", [])) | {"SLACK_ALERTS_WEBHOOK", "PAGERDUTY_ROUTING_KEY"})
        env_file.write_text(yaml.safe_dump(env, sort_keys=False))
        project.extra_env.update({"SLACK_ALERTS_WEBHOOK": slack.url, "PAGERDUTY_ROUTING_KEY": ROUTING_KEY})

    def task(self, *args: str) -> subprocess.CompletedProcess:
        proc = self.project.run(*args)
        said = proc.stdout + proc.stderr
        assert self.slack.url not in said and ROUTING_KEY not in said
        return proc

    def render_alertmanager(self) -> None:
        proc = self.task("monitor.alertmanager-config", "--out", str(self.am.config), "--check")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "amtool check-config: SUCCESS" in proc.stdout
        assert oct(self.am.config.stat().st_mode & 0o777) == "0o600"


def slack_posts(stack: Stack, alertname: str, status: str = "firing") -> list[tuple[float, dict]]:
    """Slack posts about alertname in that status (Alertmanager's title: [FIRING:1] Name (env))."""
    prefix = f"[{status.upper()}"
    return [(t, p) for t, p in stack.slack.received()
            if p["body"]["attachments"][0]["title"].startswith(prefix)
            and f"] {alertname} (" in p["body"]["attachments"][0]["title"]]


def pages(stack: Stack, alertname: str) -> list[tuple[float, dict]]:
    return [(t, p) for t, p in stack.pager.received()
            if p["body"]["event_action"] == "trigger" and p["body"]["payload"]["summary"].startswith(alertname)]


@pytest.fixture
def stack(tmp_path, request):
    strict.need_binary("amtool")
    project = make_project("sqlite", tmp_path, request)
    work = tmp_path / "stack"
    work.mkdir()
    with Receiver("/services/T000/B000/e2e-hook-token") as slack, Receiver("/v2/enqueue") as pager:
        am = Alertmanager(work / "alertmanager.yml", work)
        built = Stack(project, slack, pager, am)
        built.render_alertmanager()
        with am:
            yield built


class Traffic:
    """A bounded load: one GET of the seller page every 50 ms until stopped (or 120 s)."""

    def __init__(self, api: StandinApi):
        self.api, self.statuses = api, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        deadline = time.monotonic() + 120
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token(APP_ENV['JWT_SECRET'], 5)}"
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    self.statuses.append(http.get(f"{self.api.base}{SELLER_PAGE}", timeout=5).status_code)
                except requests.RequestException:
                    self.statuses.append(None)
                self.stop.wait(0.05)

    def __enter__(self) -> "Traffic":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def prometheus_config(stack: Stack, api_port: int, rules_file) -> str:
    return textwrap.dedent(f"""\
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: ["{rules_file}"]
        alerting:
          alertmanagers:
            - static_configs:
                - targets: ["127.0.0.1:{stack.am.port}"]
        scrape_configs:
          - job_name: marketplace-api
            static_configs:
              - targets: ["127.0.0.1:{api_port}"]
    """)


def test_api_5xx_reaches_slack_and_pagerduty_and_a_silence_stops_it(stack, tmp_path):
    project = stack.project
    project.alerts_yaml(FAST_HTTP_RULES)
    rules_file = tmp_path / "stack" / "rules.yml"
    proc = stack.task("monitor.rules", "--out", str(rules_file), "--check")
    assert proc.returncode == 0 and "SUCCESS: 4 rules found" in proc.stdout, proc.stdout + proc.stderr
    prom_file = tmp_path / "stack" / "prometheus.yml"
    prom_file.write_text(prometheus_config(stack, project.api_port, rules_file))
    amtool = strict.need_binary("amtool")

    with StandinApi(project.api_port, project.url, tmp_path, RATE_LIMIT_MAX_REQUESTS="100000") as api, \
            Prometheus(prom_file, tmp_path / "stack") as prom, Traffic(api) as traffic:
        # healthy first: traffic judged by the rules (>= 20 requests in the window), nothing fires
        wait_until(lambda: len(traffic.statuses) >= 100, 30, "healthy traffic")
        time.sleep(4)                                   # > for: 2s, over a full window of good requests
        assert set(traffic.statuses) == {200}
        assert prom.firing("MarketplaceApiErrorRate") == [] and stack.slack.received() == []
        assert stack.pager.received() == []

        db = sqlite3.connect(project.config.path)
        db.execute('ALTER TABLE "SellerRatings" RENAME TO "SellerRatings_off"')       # the 5xx switch
        db.commit()
        db.close()
        bad = time.monotonic()

        (at_slack, post), *_ = wait_until(lambda: slack_posts(stack, "MarketplaceApiErrorRate"), 60,
                                          "the error-rate alert at the Slack receiver")
        (at_pager, page), *_ = wait_until(lambda: pages(stack, "MarketplaceApiErrorRate"), 60,
                                          "the error-rate page at the PagerDuty receiver")
        print(f"\nAPI bad -> Slack receiver {at_slack - bad:.1f}s, -> PagerDuty receiver {at_pager - bad:.1f}s")
        assert 503 in traffic.statuses

        attachment = post["body"]["attachments"][0]
        assert attachment["title"] == "[FIRING:1] MarketplaceApiErrorRate (t)"
        assert attachment["text"].startswith("*127.0.0.1* (critical): 127.0.0.1: ")
        assert "% of API requests failed with 5xx (> 5%) over 10s" in attachment["text"]
        assert "runbook: invoke logs --env t (the failing requests)" in attachment["text"]
        assert post["path"] == "/services/T000/B000/e2e-hook-token"
        body = page["body"]
        assert body["routing_key"] == ROUTING_KEY and body["payload"]["severity"] == "critical"
        assert body["payload"]["summary"].startswith("MarketplaceApiErrorRate on 127.0.0.1: 127.0.0.1: ")
        assert "invoke rollback.backend --env t" in body["payload"]["custom_details"]["runbook"]
        # only the error rate: the API answers fast and nobody is rate limited
        titles = {p["body"]["attachments"][0]["title"] for _, p in stack.slack.received()}
        assert titles == {"[FIRING:1] MarketplaceApiErrorRate (t)"}

        # unsilenced, Alertmanager repeats it (repeat_interval 3s); silenced, it stops
        wait_until(lambda: len(slack_posts(stack, "MarketplaceApiErrorRate")) >= 2, 30, "a repeated notification")
        silence = subprocess.run([amtool, "silence", "add", "alertname=MarketplaceApiErrorRate",
                                  f"--alertmanager.url={stack.am.url}", "--author=test", "--duration=10m",
                                  "--comment=on it"], capture_output=True, text=True, timeout=30)
        assert silence.returncode == 0 and silence.stdout.strip(), silence.stderr
        time.sleep(2.5)                                 # a notification already in flight may land
        slack_before, pager_before = len(stack.slack.received()), len(stack.pager.received())
        time.sleep(9)                                   # three repeat intervals
        assert len(stack.slack.received()) == slack_before and len(stack.pager.received()) == pager_before
        assert prom.firing("MarketplaceApiErrorRate")  # still firing in Prometheus: only silenced
        assert set(traffic.statuses[-20:]) == {503}
        query = subprocess.run([amtool, "silence", "query", "-q", f"--alertmanager.url={stack.am.url}"],
                               capture_output=True, text=True, timeout=30)
        assert query.stdout.split() == [silence.stdout.strip()]


@pytest.mark.long
def test_database_alerts_go_through_alertmanager_and_resolve(stack):
    project = stack.project
    project.alerts_yaml(DATABASE_ONLY)
    with project.db() as db:
        db.execute('UPDATE "Users" SET "PositiveRatings" = 0 WHERE "Id" = 1')
    code, doc = project.json("monitor.alerts")
    assert code == 1, doc
    assert doc["alertmanager"] == {"posted": True, "alerts": 2, "firing": 1, "resolved": 1}
    assert doc["webhook"]["posted"] is False
    active = [a for a in stack.am.alerts() if a["labels"]["alertname"] == "MarketplaceAggregateDiscrepancies"]
    assert len(active) == 1 and active[0]["status"]["state"] == "active"
    assert active[0]["labels"] == {"alertname": "MarketplaceAggregateDiscrepancies", "severity": "warning",
                                   "rule": "discrepancies", "environment": "t", "host": "database",
                                   "source": "monitor.alerts"}

    (_, post), *_ = wait_until(lambda: slack_posts(stack, "MarketplaceAggregateDiscrepancies"), 30,
                               "the discrepancy alert at the Slack receiver")
    text = post["body"]["attachments"][0]["text"]
    assert text.startswith("*database* (warning): 1 seller(s) with stored aggregates that disagree")
    assert "runbook: invoke monitor.verify --env t; fix: invoke monitor.recalculate --env t" in text

    fixed = stack.task("monitor.recalculate")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    code, doc = project.json("monitor.alerts")
    assert code == 0 and doc["alertmanager"] == {"posted": True, "alerts": 2, "firing": 0, "resolved": 2}
    wait_until(lambda: slack_posts(stack, "MarketplaceAggregateDiscrepancies", "resolved"), 30,
               "the resolved notification at the Slack receiver")
    assert not [a for a in stack.am.alerts() if a["labels"]["alertname"] == "MarketplaceAggregateDiscrepancies"]
    assert stack.pager.received() == []                 # a warning never pages

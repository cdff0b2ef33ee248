"""Phase messages over real HTTP: a webhook receiver on 127.0.0.1 gets them; a closed port, an
error answer and a receiver that never answers are warnings within the timeout, never failures."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deploy.config import environment as config
from deploy.output.notify import notify
from tests.support import invoke_fork
from tests.support.envs import APP_ENV, make_root
from tests.support.ports import free_port

TOKEN = "T0001/B0001/notify-integration-token"


class Receiver:
    """A Slack-style incoming webhook on 127.0.0.1: answers `status`, records what it got."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.messages: list[dict] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.paths.append(self.path)
                receiver.messages.append({"content_type": self.headers.get("Content-Type"),
                                          "json": json.loads(body)})
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass    # a slow-webhook test's client gave up waiting, as it should

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = f"/services/{TOKEN}") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def closed_port() -> int:
    return free_port()      # nothing listens there: it bound, and was let go


def load(tmp_path: Path, monkeypatch, webhooks: list[str], env_vars: dict[str, str] | None = None,
         **settings) -> config.Environment:
    for key, value in (env_vars or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    root = make_root(tmp_path / "project", "t", {
        "secrets": re.findall(r"\$\{(\w+)", " ".join(webhooks)),     # webhook URLs are credentials
        "hosts": [{"name": "box", "transport": "local"}],
        "database": {"dialect": "sqlite", "path": "x.db"},
        "env": dict(APP_ENV),
        "notify": {"webhooks": webhooks, **settings},
    })
    return config.load("t", root=root)


def test_the_receiver_gets_one_message_per_outcome_with_every_fact(tmp_path, monkeypatch, receiver):
    env = load(tmp_path, monkeypatch, ["${HOOK_URL}", "${UNSET_HOOK:-}"], {"HOOK_URL": receiver.url()})
    assert str(env.notify.webhooks[0]) == "***" and env.notify.webhooks[1] == ""
    for outcome in ("started", "succeeded"):
        assert notify(env, "phase2", outcome, release="20240501-abc", actor="alice@ci", duration_s=75,
                      details={"task": "deploy.phase2"}) == []
    assert notify(env, "phase2", "failed", release="20240501-abc", actor="alice@ci", duration_s=3.5,
                  details={"error": f"health gate failed on host2 (webhook {receiver.url()})"}) == []
    assert [m["content_type"] for m in receiver.messages] == ["application/json"] * 3
    assert receiver.paths == [f"/services/{TOKEN}"] * 3
    texts = [m["json"]["text"] for m in receiver.messages]
    assert texts[0] == ":arrow_forward: *t*: phase2 started - release 20240501-abc by alice@ci in 1m 15s"
    assert texts[1].startswith(":white_check_mark: *t*: phase2 succeeded")
    assert texts[2] == (":x: *t*: phase2 failed - release 20240501-abc by alice@ci in 3.5s\n"
                        "error: health gate failed on host2 (webhook ***)")
    fields = [f["text"] for f in receiver.messages[0]["json"]["blocks"][1]["fields"]]
    assert {"*Environment*\nt", "*Phase*\nphase2", "*Release*\n20240501-abc", "*Actor*\nalice@ci",
            "*Duration*\n1m 15s", "*Outcome*\nstarted"} <= set(fields)
    assert TOKEN not in json.dumps([m["json"] for m in receiver.messages])


def test_only_the_configured_outcomes_are_sent(tmp_path, monkeypatch, receiver):
    env = load(tmp_path, monkeypatch, [receiver.url()], on=["failed", "undone"])
    assert notify(env, "phase3", "started", actor="a") == []
    assert notify(env, "phase3", "undone", actor="a", details={"error": "metrics gate"}) == []
    assert [m["json"]["text"].split("\n")[0] for m in receiver.messages] == [
        ":leftwards_arrow_with_hook: *t*: phase3 undone by a"]


def test_an_unreachable_webhook_is_a_warning_quickly_and_the_others_still_get_it(tmp_path, monkeypatch,
                                                                                   receiver):
    dead = f"http://127.0.0.1:{closed_port()}/services/{TOKEN}"
    env = load(tmp_path, monkeypatch, ["${DEAD_HOOK}", receiver.url()], {"DEAD_HOOK": dead}, timeout=3)
    seen: list[str] = []
    started = time.monotonic()
    warnings = notify(env, "phase1", "failed", actor="ci", details={"error": "boom"}, warn=seen.append)
    took = time.monotonic() - started
    assert took < 3
    assert warnings == seen == ["notify: webhook 1 (127.0.0.1): cannot reach it (ConnectionError)"]
    assert TOKEN not in warnings[0]
    assert len(receiver.messages) == 1                       # the working webhook was not held up


def test_an_error_answer_and_a_silent_receiver_are_warnings_within_the_timeout(tmp_path, monkeypatch):
    failing, silent = Receiver(status=500), Receiver(delay=5)
    try:
        env = load(tmp_path, monkeypatch, [failing.url(), silent.url("/hooks/silent")], timeout=1)
        started = time.monotonic()
        warnings = notify(env, "phase4", "succeeded", actor="ci", duration_s=12)
        took = time.monotonic() - started
        assert took < 4.5, took          # gave up at its timeout, not after the receiver's 5 s
        assert warnings == ["notify: webhook 1 (127.0.0.1): HTTP 500",
                            "notify: webhook 2 (127.0.0.1): no answer within 1s"]
        assert len(failing.messages) == 1
    finally:
        failing.close()
        silent.close()


def _phase1_project(tmp_path: Path, webhook: str) -> Path:
    import sqlite3
    root = make_root(tmp_path / "phase1", "t", {
        "hosts": [{"name": "box", "transport": "local"}],
        "database": {"dialect": "sqlite", "path": "market.db", "backups": {"dir": "backups"}},
        "env": dict(APP_ENV),
        "notify": {"webhooks": ["${TEST_WEBHOOK}"]},
        "secrets": ["TEST_WEBHOOK"],
    })
    db = sqlite3.connect(root / "market.db")
    db.executescript('CREATE TABLE "Users" ("Id" INTEGER PRIMARY KEY, "FullName" TEXT NOT NULL, '
                     '"Email" TEXT NOT NULL UNIQUE, "CreatedAt" DATETIME NOT NULL);')
    db.close()
    return root


def _invoke_phase1(root: Path, webhook: str):
    import os
    import sys
    from tests.support.envs import REPO
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", "TEST_WEBHOOK": webhook, "NO_PROXY": "127.0.0.1"})
    return invoke_fork.run([sys.executable, "-m", "invoke", "deploy.phase1", "--env", "t"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_phase_posts_started_and_succeeded_through_the_executor(tmp_path, receiver):
    root = _phase1_project(tmp_path, receiver.url())
    proc = _invoke_phase1(root, receiver.url())
    assert proc.returncode == 0, proc.stderr
    texts = [json.dumps(m["json"]) for m in receiver.messages]
    assert len(texts) == 2
    assert "started" in texts[0] and "phase1" in texts[0]
    assert "succeeded" in texts[1] and "phase1" in texts[1]
    assert all(TOKEN not in t for t in texts)


def test_an_unreachable_webhook_never_fails_the_deploy(tmp_path):
    root = _phase1_project(tmp_path, "")
    proc = _invoke_phase1(root, f"http://127.0.0.1:{closed_port()}/hook")
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr

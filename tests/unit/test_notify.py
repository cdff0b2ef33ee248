"""Phase messages: the payload, which webhooks and outcomes count, and that nothing ever raises
(no network here: tests/integration/test_notify.py posts to a real receiver)."""

from __future__ import annotations

import json

from deploy.output import notify
from deploy.config.environment import Environment
from deploy.secrets import Secret

HOOK_URL = "https://hooks.slack.example/services/T000/B000/notify-unit-token"


def hook_secret() -> Secret:
    """Made in each test: the suite forgets registered secrets after every test."""
    return Secret(HOOK_URL, name="notify.webhooks.0")


def environment(webhooks=(), on=None, timeout=2) -> Environment:
    settings = {"webhooks": list(webhooks), "timeout": timeout}
    if on is not None:
        settings["on"] = list(on)
    return Environment.model_validate({
        "name": "production", "hosts": [{"name": "box", "transport": "local"}],
        "database": {"dialect": "sqlite", "path": "x.db"}, "notify": settings})


def test_message_has_every_fact_in_text_and_blocks():
    payload = notify.message("production", "phase2", "succeeded", release="20240101-abc", actor="alice@ci",
                             duration_s=192.4, details={"task": "deploy.phase2", "hosts": ["a", "b"]})
    assert payload["text"] == (":white_check_mark: *production*: phase2 succeeded - release 20240101-abc "
                               "by alice@ci in 3m 12s")
    fields = [f["text"] for f in payload["blocks"][1]["fields"]]
    assert fields == ["*Environment*\nproduction", "*Phase*\nphase2", "*Outcome*\nsucceeded",
                      "*Release*\n20240101-abc", "*Actor*\nalice@ci", "*Duration*\n3m 12s", "*task*\ndeploy.phase2"]
    assert len(payload["blocks"]) == 2                     # no error block
    json.dumps(payload)                                    # plain JSON, nothing else


def test_a_failure_carries_its_error_masked_and_escaped():
    hook = hook_secret()
    payload = notify.message("staging", "phase1", "failed", release=None, actor="bob",
                             duration_s=None, details={"error": f"connect {hook.reveal()} failed <x> & y"})
    assert payload["text"] == (":x: *staging*: phase1 failed by bob\n"
                               "error: connect *** failed &lt;x&gt; &amp; y")
    assert payload["blocks"][-1]["text"]["text"] == "*Error*\n```connect *** failed &lt;x&gt; &amp; y```"
    assert "*Release*\n-" in [f["text"] for f in payload["blocks"][1]["fields"]]
    assert hook.reveal() not in json.dumps(payload)


def test_durations_read_well():
    assert [notify.duration_text(s) for s in (None, 0, 4.26, 59.9, 60, 192.4, 3600, 5400 + 59)] == [
        "-", "0.0s", "4.3s", "59.9s", "1m 00s", "3m 12s", "1h 00m", "1h 30m"]


def test_empty_values_mean_not_configured_and_numbers_start_at_one():
    hook = hook_secret()
    env = environment(["", "  ", "http://127.0.0.1:9/a", hook])
    assert [(n, str(v)) for n, v in notify.webhooks(env)] == [(3, "http://127.0.0.1:9/a"), (4, "***")]
    assert notify.notify(environment([""]), "phase1", "failed", actor="a") == []


def test_outcomes_not_listed_in_on_send_nothing():
    env = environment(["ftp://never.example/hook"], on=["failed"])
    assert notify.notify(env, "phase1", "succeeded", actor="a") == []
    assert notify.notify(env, "phase1", "failed", actor="a") == [
        "notify: webhook 1 (never.example): not an http(s) URL"]


def test_a_warning_names_the_host_never_the_token():
    assert notify.label(2, HOOK_URL) == "webhook 2 (hooks.slack.example)"


def test_nothing_raises_and_warnings_are_passed_on(monkeypatch):
    def boom(url, body, timeout):
        raise RuntimeError(f"exploded at {url}")

    hook = hook_secret()
    monkeypatch.setattr(notify, "post", boom)
    seen: list[str] = []
    warnings = notify.notify(environment([hook]), "phase3", "undone", actor="a", warn=seen.append)
    # the exception is a warning; the URL is nowhere
    assert warnings == seen and len(warnings) == 1
    assert warnings[0] == "notify: webhook 1 (hooks.slack.example): failed (RuntimeError)"
    assert hook.reveal() not in warnings[0]

    monkeypatch.setattr(notify, "message", lambda *a, **k: 1 / 0)
    assert notify.notify(environment([hook]), "phase3", "failed", actor="a") == [
        "notify: division by zero"]

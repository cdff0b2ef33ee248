"""Phase messages for the team's channel: Slack-compatible incoming webhooks (`notify:` in an env).

    warnings = notify(env, "phase2", "failed", release="20240101-abc", actor=run.actor,
                      duration_s=42.0, details={"error": "...", "task": run.task}, warn=run.out.warn)

One message per call to every configured webhook that is not empty (an empty value, e.g.
"${DEPLOY_WEBHOOK_URL:-}" with the variable unset, means "not configured"), when the outcome is
one of `notify.on`. Webhooks are posted in parallel and the whole call ends within
`notify.timeout`. A webhook that fails is a warning (returned, and passed to `warn`), never an
exception: a chat outage must not fail a deploy. URLs are secrets (a Slack URL holds a token):
they are revealed only to post, and a warning names a webhook by number and host alone.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable
from urllib.parse import urlparse

from deploy.config.environment import Environment
from deploy.lazy import lazy
from deploy.secrets import mask, mask_data, reveal

requests = lazy("requests")   # HTTP loads when a message is posted (deploy/lazy.py)

OUTCOMES = ("started", "succeeded", "failed", "undone")
ICONS = {"started": ":arrow_forward:", "succeeded": ":white_check_mark:", "failed": ":x:",
         "undone": ":leftwards_arrow_with_hook:"}
ERROR_MAX = 1500       # Slack refuses section texts over 3000 characters
EXTRA_FIELDS = 4       # details shown beside the fixed fields (Slack: at most 10 fields)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _escape(text: object) -> str:
    """Slack mrkdwn: &, < and > are control characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(environment: str, phase: str, outcome: str, *, release: str | None, actor: str,
            duration_s: float | None, details: dict[str, Any] | None = None) -> dict:
    """The Slack-compatible payload: "text" for every chat tool, "blocks" for Slack. Masked."""
    details = dict(details or {})
    error = details.pop("error", None)
    headline = (f"{ICONS.get(outcome, '')} *{_escape(environment)}*: {_escape(phase)} {_escape(outcome)}"
                + (f" - release {_escape(release)}" if release else "") + f" by {_escape(actor)}"
                + (f" in {duration_text(duration_s)}" if duration_s is not None else "")).strip()
    fields = [("Environment", environment), ("Phase", phase), ("Outcome", outcome),
              ("Release", release or "-"), ("Actor", actor), ("Duration", duration_text(duration_s))]
    fields += [(str(k), v) for k, v in details.items() if isinstance(v, (str, int, float))][:EXTRA_FIELDS]
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{_escape(k)}*\n{_escape(v)}"}
                                       for k, v in fields]},
    ]
    text = headline
    if error:
        shown = str(error)[:ERROR_MAX]
        text += f"\nerror: {_escape(shown)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Error*\n```{_escape(shown)}```"}})
    return mask_data({"text": text, "blocks": blocks})


def webhooks(env: Environment) -> list[tuple[int, Any]]:
    """(number from 1, value) of every configured webhook that is not empty."""
    return [(i, w) for i, w in enumerate(env.notify.webhooks, 1) if reveal(w).strip()]


def label(number: int, url: str) -> str:
    """How a warning names a webhook: its number and host, never its path (the token)."""
    host = urlparse(url).hostname or "?"
    return f"webhook {number} ({host})"


def post(url: str, body: bytes, timeout: float) -> str | None:
    """None when the receiver took the message (2xx), else the reason (no URL in it)."""
    if urlparse(url).scheme not in ("http", "https"):
        return "not an http(s) URL"
    try:
        response = requests.post(url, data=body, timeout=timeout, allow_redirects=False,
                                 headers={"Content-Type": "application/json"})
    except requests.Timeout:
        return f"no answer within {timeout:g}s"
    except requests.RequestException as exc:
        # not str(exc): it carries the URL
        return f"cannot reach it ({type(exc).__name__})"
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}"
    return None


def notify(env: Environment, phase: str, outcome: str, *, release: str | None = None, actor: str,
           duration_s: float | None = None, details: dict[str, Any] | None = None,
           warn: Callable[[str], None] | None = None) -> list[str]:
    """Post one phase message to every configured webhook; the warnings (never raises)."""
    try:
        targets = webhooks(env) if outcome in env.notify.on else []
        if not targets:
            return []
        payload = message(env.name, phase, outcome, release=release, actor=actor,
                          duration_s=duration_s, details=details)
        body = json.dumps(payload).encode("utf-8")
        warnings = _post_all(targets, body, float(env.notify.timeout))
    except Exception as exc:   # a notification must never be what fails a deploy
        warnings = [f"notify: {mask(str(exc)) or type(exc).__name__}"]
    for line in warnings:
        if warn:
            warn(line)
    return warnings


def _post_all(targets: list[tuple[int, Any]], body: bytes, timeout: float) -> list[str]:
    """In parallel; whatever has not answered when `timeout` has passed is a warning."""
    results: dict[int, str | None] = {}

    def send(number: int, url: str) -> None:
        try:
            results[number] = post(url, body, timeout)
        except Exception as exc:   # not str(exc): it may carry the URL
            results[number] = f"failed ({type(exc).__name__})"

    threads = []
    for number, value in targets:
        thread = threading.Thread(target=send, args=(number, reveal(value)), daemon=True,
                                  name=f"notify-{number}")
        thread.start()
        threads.append((number, value, thread))
    deadline = time.monotonic() + timeout
    warnings = []
    for number, value, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        where = label(number, reveal(value))
        if thread.is_alive():
            warnings.append(mask(f"notify: {where}: no answer within {timeout:g}s"))
        elif results.get(number):
            warnings.append(mask(f"notify: {where}: {results[number]}"))
    return warnings

"""The one message per monitor.alerts run that fired something: Slack-compatible JSON.

`message` is pure: {"text": ..., "blocks": [...]} as Slack's incoming webhooks take it (other chat
tools read "text"); every text is masked. `post` sends it; a failure is returned as a reason
for the caller to warn about, never raised (the alerts themselves decide the exit code).
"""

from __future__ import annotations

import json

from urllib.parse import urlparse


from deploy.output.notify import post as deliver
from deploy.errors import ConfigError
from deploy.monitoring.alerts import Alert
from deploy.secrets import mask

SECTION_LIMIT = 2900   # Slack refuses section texts over 3000 characters


def check_url(url: str) -> str:
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError("--webhook: expected an http(s) URL like https://hooks.slack.com/services/...")
    return url


def message(environment: str, alerts: list[Alert]) -> dict:
    fired = [a for a in alerts if a.fired]
    title = mask(f"monitor.alerts on {environment}: {len(fired)} alert(s) fired")
    lines = [mask(f"• *{_escape(a.rule)}* on {_escape(a.subject)} ({a.state}): {_escape(a.message)} "
                  f"[threshold {_escape(a.threshold)}]") for a in fired]
    body = "\n".join(lines)
    if len(body) > SECTION_LIMIT:
        body = body[:SECTION_LIMIT].rsplit("\n", 1)[0] + "\n…"
    return {
        "text": f"{title}\n{body}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body or "-"}},
        ],
    }


def post(url: str, payload: dict, timeout: float = 10) -> str | None:
    """POST the message; None when the receiver took it (2xx), else the reason (never the URL)."""
    return deliver(url, json.dumps(payload).encode("utf-8"), timeout)


def _escape(text: str) -> str:
    """Slack mrkdwn: &, < and > are control characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

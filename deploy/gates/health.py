"""Gates of phase 2: the per-host health gate and the smoke checks (checks/smoke.yaml).

The decisions are pure (`health_verdict`, `smoke_verdict`, `HealthPoll`); the HTTP calls are
one small function (`http_get`) handed in, so the polling policy is tested without a network.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from pydantic import Field, field_validator, model_validator

from deploy.config.environment import Duration, Model, read_yaml, validate
from deploy.errors import ConfigError
from deploy.secrets import Secret, mask, reveal
from deploy.config.shipped import project_path

SMOKE_FILE = "checks/smoke.yaml"
TOKEN_VAR = "SMOKE_TOKEN"


# -- the spec users edit -----------------------------------------------------------------------
MIN_INTERVAL = 0.01                     # below this the gate floods the host it judges


def spacing_text(seconds: float) -> str:
    """0.1 -> '100ms', 2 -> '2s', 1.5 -> '1.5s' (as checks/smoke.yaml writes durations)."""
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"


class HealthPolicy(Model):
    """The per-host health gate (checks/smoke.yaml `health:`): `passes` healthy answers in a row,
    `interval` apart. Why the default spacing is 100ms: the comment in checks/smoke.yaml."""

    passes: int = Field(3, ge=1, le=1000)   # consecutive healthy answers with the new version
    interval: Duration = 0.1            # wait between polls, so between passes; grows x1.5 after a failure ...
    max_interval: Duration = 2          # ... up to this
    timeout: Duration = 2               # one request
    deadline: Duration = 60             # per host, from the restart

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value < MIN_INTERVAL:
            raise ValueError(f"{spacing_text(value)} is too short: at least {spacing_text(MIN_INTERVAL)} "
                             "between polls (the gate must not flood the host it judges)")
        return value

    @field_validator("timeout", "deadline")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "HealthPolicy":
        if self.max_interval < self.interval:
            raise ValueError(f"max_interval {spacing_text(self.max_interval)} is shorter than "
                             f"interval {spacing_text(self.interval)}")
        least = (self.passes - 1) * self.interval
        if self.deadline <= least:
            raise ValueError(f"deadline {spacing_text(self.deadline)} cannot hold {self.passes} passes "
                             f"{spacing_text(self.interval)} apart (they take {spacing_text(least)})")
        return self

    @property
    def shortest(self) -> float:
        """The least time the gate can take on a host that is up: (passes - 1) x interval."""
        return (self.passes - 1) * self.interval


class DrainPolicy(Model):
    deadline: Duration = 30             # wait at most this long for 0 sessions, then maint anyway
    interval: Duration = 0.2


class TokenSpec(Model):
    sub: str = "1"                      # the user id the smoke token is minted for
    ttl: Duration = 300


class SmokeCheck(Model):
    name: str = Field(min_length=1)
    path: str = Field(pattern=r"^/")
    expect: int = Field(ge=100, le=599)
    auth: Literal["none", "bearer"] = "none"
    method: Literal["GET", "HEAD"] = "GET"


class SmokeSpec(Model):
    health: HealthPolicy = HealthPolicy()
    drain: DrainPolicy = DrainPolicy()
    token: TokenSpec = TokenSpec()
    checks: tuple[SmokeCheck, ...] = ()


def load_spec(root: Path) -> SmokeSpec:
    file = project_path(root, SMOKE_FILE)
    if not file.is_file():
        raise ConfigError(f"{SMOKE_FILE} is missing (the phase 2 gates: health policy and smoke checks)")
    raw = read_yaml(file, SMOKE_FILE) or {}
    if isinstance(raw.get("token"), dict) and "sub" in raw["token"]:
        raw["token"]["sub"] = str(raw["token"]["sub"])
    return validate(SmokeSpec, raw, SMOKE_FILE)


# -- HTTP, the one side effect here ------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int | None          # None: no HTTP answer at all
    body: str = ""
    error: str = ""
    refused: bool = False       # nothing listened (or the connection was reset): it cost the app nothing


def http_client():
    """requests, imported on first use, not at the top: a task that never polls a host does not
    load it (0.1-0.2 s). Whoever times requests calls this before its clock starts - else the first
    timed answers carry the import (a probe's threads all waiting on it: p95 600 ms)."""
    import requests
    return requests


def http_get(url: str, timeout: float, headers: dict[str, str] | None = None,
             method: str = "GET") -> Answer:
    """One request straight to the host (no proxy from the environment), never raising."""
    requests = http_client()
    try:
        with requests.Session() as session:
            session.trust_env = False
            resp = session.request(method, url, timeout=timeout, headers=headers or {},
                                   allow_redirects=False)
            return Answer(resp.status_code, resp.text[:4000])
    except requests.Timeout:
        return Answer(None, error=f"no answer within {timeout:g}s")
    except requests.ConnectionError:
        return Answer(None, error="connection refused or reset", refused=True)
    except requests.RequestException as exc:
        return Answer(None, error=mask(str(exc)) or type(exc).__name__)


# -- the health decision -------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    version: str | None = None
    refused: bool = False       # no answer because nothing listened: does not slow the polls down


def health_verdict(answer: Answer, expected_version: str | None,
                   expected_flag: dict | None = None) -> Verdict:
    """Healthy: HTTP 200, a JSON body with status ok, and (when given) the expected version and
    feature flag ({"enabled": bool, "percentage": int}, as /health's "flag" or a flag.json body)."""
    if answer.status is None:
        return Verdict(False, answer.error or "no answer", refused=answer.refused)
    if answer.status != 200:
        return Verdict(False, f"HTTP {answer.status}")
    try:
        body = json.loads(answer.body)
    except ValueError:
        return Verdict(False, "HTTP 200 but the body is not JSON")
    if not isinstance(body, dict):
        return Verdict(False, "HTTP 200 but the body is not a JSON object")
    version = body.get("version")
    version = str(version) if version is not None else None
    if body.get("status", "ok") != "ok":
        return Verdict(False, f"status {body.get('status')!r}", version)
    if expected_version is not None and version != expected_version:
        return Verdict(False, f"version {version!r}, want {expected_version!r}", version)
    if expected_flag is not None:
        served = flag_served(body)
        if served != expected_flag:
            return Verdict(False, f"flag {_flag_text(served)}, want {_flag_text(expected_flag)}", version)
    return Verdict(True, "healthy", version)


def flag_served(body: dict) -> dict | None:
    """The flag a health body reports: {"enabled", "percentage"}, or None when it reports none."""
    flag = body.get("flag") if isinstance(body.get("flag"), dict) else body
    enabled, pct = flag.get("enabled"), flag.get("percentage")
    if not isinstance(enabled, bool) or not isinstance(pct, int) or isinstance(pct, bool):
        return None
    return {"enabled": enabled, "percentage": pct}


def _flag_text(flag: dict | None) -> str:
    if flag is None:
        return "not reported"
    return f"{flag['percentage']}%" if flag["enabled"] else f"off ({flag['percentage']}%)"


@dataclass
class HealthPoll:
    """The polling policy as a state machine: feed verdicts, ask what to do next."""

    policy: HealthPolicy
    passes: int = 0        # consecutive healthy answers so far
    failures: int = 0      # consecutive unhealthy answers so far
    slowing: int = 0       # of those, the ones the app answered (or timed out on): they grow the wait
    attempts: int = 0
    last: Verdict | None = None
    last_failure: Verdict | None = None   # what broke the latest run of passes

    def record(self, verdict: Verdict) -> None:
        self.attempts += 1
        self.last = verdict
        if verdict.ok:
            self.passes, self.failures, self.slowing = self.passes + 1, 0, 0
        else:
            self.passes, self.failures = 0, self.failures + 1
            self.slowing += 0 if verdict.refused else 1
            self.last_failure = verdict

    @property
    def why_not(self) -> str:
        """Why the gate has not passed: the last answer's fault, or - when the last answers were
        healthy but too few in a row - how many, and what broke the run before them."""
        if self.last is None:
            return "no answer"
        if not self.last.ok:
            return self.last.reason
        broke = f"; the run before broke on: {self.last_failure.reason}" if self.last_failure else ""
        return f"only {self.passes} of {self.policy.passes} healthy answers in a row{broke}"

    @property
    def wait(self) -> float:
        """The pause before the next poll: the interval, growing x1.5 per failure in a row - but
        not for a refused connection (nothing listens yet: a boot), which costs the app nothing:
        a gate begun at the spawn polls a booting app every `interval`, and sees it up that soon."""
        if self.slowing == 0:
            return self.policy.interval
        return min(self.policy.interval * 1.5 ** (self.slowing - 1), self.policy.max_interval)

    @property
    def done(self) -> bool:
        return self.passes >= self.policy.passes


@dataclass(frozen=True)
class GateResult:
    ok: bool
    url: str
    reason: str
    attempts: int
    seconds: float
    version: str | None = None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "url": self.url, "reason": self.reason, "attempts": self.attempts,
                "seconds": round(self.seconds, 2), "version": self.version}


def wait_healthy(url: str, expected_version: str | None, policy: HealthPolicy,
                 fetch: Callable[[str, float], Answer] = http_get,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 expected_flag: dict | None = None) -> GateResult:
    """Poll url until `policy.passes` consecutive healthy answers, or the deadline."""
    started = clock()
    poll = HealthPoll(policy)
    while True:
        poll.record(health_verdict(fetch(url, policy.timeout), expected_version, expected_flag))
        elapsed = clock() - started
        if poll.done:
            return GateResult(True, url, "healthy", poll.attempts, elapsed, poll.last.version)
        if elapsed + poll.wait > policy.deadline:
            return GateResult(False, url, f"not healthy within {policy.deadline:g}s: {poll.why_not}",
                              poll.attempts, elapsed, poll.last.version if poll.last else None)
        sleep(poll.wait)


# -- smoke checks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmokeResult:
    name: str
    url: str
    expect: int
    status: int | None
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "expect": self.expect, "status": self.status,
                "ok": self.ok, "detail": self.detail}


def smoke_verdict(check: SmokeCheck, answer: Answer) -> tuple[bool, str]:
    if answer.status is None:
        return False, answer.error or "no answer"
    if answer.status != check.expect:
        return False, f"HTTP {answer.status}, want {check.expect}"
    return True, f"HTTP {answer.status}"


def smoke_token(spec: TokenSpec, app_env: dict, now: float | None = None) -> Secret | None:
    """$SMOKE_TOKEN, else a short-lived HS256 token minted from the app's JWT_SECRET."""
    given = os.environ.get(TOKEN_VAR)
    if given:
        return Secret(given, name=TOKEN_VAR)
    secret = app_env.get("JWT_SECRET")
    if not secret:
        return None
    import jwt  # here, not at the top: it loads cryptography (0.1-0.2 s), needed only to mint

    issued = int(now if now is not None else time.time())
    claims = {"sub": spec.sub, "iat": issued, "exp": issued + int(spec.ttl)}
    return Secret(jwt.encode(claims, reveal(secret), algorithm="HS256"), name="smoke token")


def token_available(app_env: dict) -> bool:
    """smoke_token would return a token (without minting one: a dry run only checks this)."""
    return bool(os.environ.get(TOKEN_VAR) or app_env.get("JWT_SECRET"))


def needs_token(spec: SmokeSpec) -> bool:
    return any(c.auth == "bearer" for c in spec.checks)


def run_smoke(spec: SmokeSpec, base_urls: list[str], token: Secret | None,
              fetch: Callable[..., Answer] = http_get) -> list[SmokeResult]:
    """Every check against every base URL (each API host)."""
    results = []
    for base in base_urls:
        for check in spec.checks:
            headers = {}
            if check.auth == "bearer":
                if token is None:
                    results.append(SmokeResult(check.name, base + check.path, check.expect, None, False,
                                               "no token: set SMOKE_TOKEN or JWT_SECRET"))
                    continue
                headers["Authorization"] = f"Bearer {token.reveal()}"
            answer = fetch(base + check.path, spec.health.timeout, headers, check.method)
            ok, detail = smoke_verdict(check, answer)
            results.append(SmokeResult(check.name, base + check.path, check.expect, answer.status, ok, detail))
    return results

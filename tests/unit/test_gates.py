"""The health decision, the polling policy (fake clock, no network), smoke checks and tokens."""

import json
from pathlib import Path

import jwt
import pytest

from deploy.gates import health as gates
from deploy.errors import ConfigError
from deploy.gates.health import Answer, HealthPolicy, health_verdict, wait_healthy
from deploy.secrets import Secret

REPO = Path(__file__).resolve().parents[2]


def body(**fields):
    return json.dumps({"status": "ok", "version": "v2", "app": "api", **fields})


@pytest.mark.parametrize("answer, expected, ok, reason", [
    (Answer(200, body()), "v2", True, "healthy"),
    (Answer(200, body()), None, True, "healthy"),
    (Answer(200, body(version="v1")), "v2", False, "version 'v1', want 'v2'"),
    (Answer(503, body(status="error")), "v2", False, "HTTP 503"),
    (Answer(200, body(status="error")), "v2", False, "status 'error'"),
    (Answer(200, "<html>"), "v2", False, "HTTP 200 but the body is not JSON"),
    (Answer(200, "[1]"), "v2", False, "HTTP 200 but the body is not a JSON object"),
    (Answer(None, error="connection refused or reset"), "v2", False, "connection refused or reset"),
])
def test_health_verdict(answer, expected, ok, reason):
    verdict = health_verdict(answer, expected)
    assert (verdict.ok, verdict.reason) == (ok, reason)


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def scripted(*answers):
    queue = list(answers)

    def fetch(url, timeout):
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return fetch


POLICY = HealthPolicy(passes=3, interval=0.5, max_interval=2, timeout=1, deadline=10)
UP, OLD, DOWN = Answer(200, body()), Answer(200, body(version="v1")), Answer(None, error="refused")


def test_needs_consecutive_passes():
    clock = Clock()
    result = wait_healthy("http://h/health", "v2", POLICY, scripted(UP, DOWN, UP, UP, UP), clock, clock.sleep)
    assert result.ok and result.attempts == 5 and result.version == "v2"


def test_backs_off_after_failures_up_to_the_maximum():
    clock = Clock()
    result = wait_healthy("http://h/health", "v2", POLICY, scripted(DOWN, DOWN, DOWN, DOWN, DOWN, UP),
                          clock, clock.sleep)
    assert result.ok
    assert clock.sleeps[:5] == [0.5, 0.75, 1.125, 1.688, 2.0]
    assert clock.sleeps[5:] == [0.5, 0.5]


def test_gives_up_at_the_deadline_with_the_last_reason():
    clock = Clock()
    result = wait_healthy("http://h/health", "v2", POLICY, scripted(OLD), clock, clock.sleep)
    assert not result.ok
    assert result.reason == "not healthy within 10s: version 'v1', want 'v2'"
    assert clock.now <= 10


def test_out_of_time_on_a_run_of_passes_says_how_many_and_what_broke_the_run_before():
    """Healthy answers that never made `passes` in a row: the reason is not the last answer
    ("healthy") but the count and the failure that kept breaking the run."""
    clock = Clock()
    result = wait_healthy("http://h/health", "v2", POLICY, scripted(*[DOWN, UP, UP] * 20), clock,
                          clock.sleep)
    assert not result.ok
    assert result.reason == "not healthy within 10s: only 2 of 3 healthy answers in a row; the run before broke on: refused"


def test_smoke_verdict_and_run_with_token():
    spec = gates.load_spec(REPO)
    seen = []

    def fetch(url, timeout, headers, method):
        seen.append((url, headers.get("Authorization", "")))
        if url.endswith("/health"):
            return Answer(200, body())
        if "seller" in url:
            return Answer(401, "{}")
        return Answer(200 if headers.get("Authorization") == "Bearer tok" else 401, "{}")

    results = gates.run_smoke(spec, ["http://a:1", "http://b:1"], Secret("tok"), fetch)
    assert [r.ok for r in results] == [True] * 6
    assert seen[2] == ("http://a:1/api/v1/ratings/can-rate/1", "Bearer tok")
    assert seen[1] == ("http://a:1/api/v1/ratings/seller/1", "")

    failing = gates.run_smoke(spec, ["http://a:1"], None, fetch)
    assert [r.ok for r in failing] == [True, True, False]
    assert failing[2].detail == "no token: set SMOKE_TOKEN or JWT_SECRET"


def test_smoke_verdict_wording():
    check = gates.SmokeCheck(name="x", path="/x", expect=401)
    assert gates.smoke_verdict(check, Answer(200, "")) == (False, "HTTP 200, want 401")
    assert gates.smoke_verdict(check, Answer(401, "")) == (True, "HTTP 401")


def test_shipped_smoke_file_holds_the_runbook_checks():
    spec = gates.load_spec(REPO)
    assert [(c.path, c.expect, c.auth) for c in spec.checks] == [
        ("/health", 200, "none"), ("/api/v1/ratings/seller/1", 401, "none"),
        ("/api/v1/ratings/can-rate/1", 200, "bearer")]
    assert spec.health.passes == 3 and spec.health.deadline == 60 and spec.token.sub == "1"


def test_the_shipped_spacing_is_3_passes_100ms_apart_and_the_code_defaults_to_it():
    shipped = gates.load_spec(REPO).health
    assert (shipped.passes, shipped.interval) == (3, 0.1) and shipped.shortest == pytest.approx(0.2)
    assert HealthPolicy() == shipped          # no smoke.yaml health section: the same decision
    assert "100ms apart" in (REPO / "checks" / "smoke.yaml").read_text()   # stated, with its reason


def test_a_healthy_host_passes_the_shipped_gate_in_two_spacings():
    clock = Clock()
    result = wait_healthy("http://h/health", "v2", gates.load_spec(REPO).health, scripted(UP), clock, clock.sleep)
    assert result.ok and result.attempts == 3
    assert clock.sleeps == [0.1, 0.1]


class CrashLoop:
    """A worker that dies on its first request; its process manager starts it again at once and
    it answers again `boot` seconds later (a supervisord/pm2 restart loop)."""

    def __init__(self, clock, boot=1.0):
        self.clock, self.boot, self.up_at, self.answered = clock, boot, 0.0, 0

    def __call__(self, url, timeout):
        if self.clock.now < self.up_at:
            return DOWN
        self.answered += 1
        self.up_at = self.clock.now + self.boot       # dies now, back after a boot
        return UP


def test_the_shipped_spacing_catches_a_restart_loop_a_spacing_longer_than_a_boot_would_pass():
    shipped = gates.load_spec(REPO).health
    clock = Clock()
    loop = CrashLoop(clock)
    result = wait_healthy("http://h/health", "v2", shipped, loop, clock, clock.sleep)
    assert not result.ok and result.reason.startswith("not healthy within 60s")
    assert loop.answered > 10                          # it answered healthy many times, never 3 in a row

    clock = Clock()
    slow = shipped.model_copy(update={"interval": 1.5, "max_interval": 2})   # longer than the 1s boot
    result = wait_healthy("http://h/health", "v2", slow, CrashLoop(clock), clock, clock.sleep)
    assert result.ok                                   # each poll met a fresh incarnation


@pytest.mark.parametrize("health, message", [
    ("{interval: 0}", "health.interval: 0ms is too short: at least 10ms between polls"),
    ("{interval: 5ms}", "health.interval: 5ms is too short"),
    ("{interval: -1}", "health.interval: must not be negative"),
    ("{interval: soon}", "health.interval: 'soon' is not a duration"),
    ("{passes: 0}", "health.passes: Input should be greater than or equal to 1"),
    ("{passes: many}", "health.passes: Input should be a valid integer"),
    ("{timeout: 0}", "health.timeout: must be more than 0"),
    ("{deadline: 0s}", "health.deadline: must be more than 0"),
    ("{interval: 1s, max_interval: 500ms}", "health: max_interval 500ms is shorter than interval 1s"),
    ("{passes: 5, interval: 500ms, deadline: 2s}", "health: deadline 2s cannot hold 5 passes 500ms apart "
                                                   "(they take 2s)"),
    ("{spacing: 1s}", "health.spacing: unknown key"),
])
def test_bad_health_values_are_one_line_naming_the_key(tmp_path, health, message):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "smoke.yaml").write_text(f"health: {health}\n")
    with pytest.raises(ConfigError) as exc:
        gates.load_spec(tmp_path)
    assert str(exc.value).startswith(f"checks/smoke.yaml: {message}"), str(exc.value)
    assert "\n" not in str(exc.value) and exc.value.exit_code == 2


def test_smoke_file_errors_are_one_line(tmp_path):
    # a project without its own checks/smoke.yaml gets the shipped one (deploy/config/shipped.py)
    assert gates.load_spec(tmp_path) == gates.load_spec(REPO)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "smoke.yaml").write_text("health: {passes: 0}\n")
    with pytest.raises(ConfigError, match="checks/smoke.yaml: health.passes"):
        gates.load_spec(tmp_path)
    (tmp_path / "checks" / "smoke.yaml").write_text("checks: [{name: x, path: /x, expect: 200, bogus: 1}]\n")
    with pytest.raises(ConfigError, match="unknown key"):
        gates.load_spec(tmp_path)


def test_token_minted_from_jwt_secret_or_taken_from_env(monkeypatch):
    monkeypatch.delenv(gates.TOKEN_VAR, raising=False)
    secret = "s" * 40
    token = gates.smoke_token(gates.TokenSpec(sub="7", ttl=60), {"JWT_SECRET": Secret(secret)}, now=1_000)
    assert isinstance(token, Secret) and str(token) == "***"
    claims = jwt.decode(token.reveal(), secret, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {"sub": "7", "iat": 1_000, "exp": 1_060}
    assert gates.smoke_token(gates.TokenSpec(), {}) is None
    monkeypatch.setenv(gates.TOKEN_VAR, "given-token-value")
    assert gates.smoke_token(gates.TokenSpec(), {}).reveal() == "given-token-value"


@pytest.mark.parametrize("given, app_env", [(None, {}), (None, {"JWT_SECRET": "s" * 40}),
                                            ("given-token-value", {}), ("", {"JWT_SECRET": ""})])
def test_token_available_says_whether_smoke_token_would_give_one(monkeypatch, given, app_env):
    """What a dry run checks instead of minting: the same answer as minting, without a token."""
    monkeypatch.delenv(gates.TOKEN_VAR, raising=False)
    if given is not None:
        monkeypatch.setenv(gates.TOKEN_VAR, given)
    assert gates.token_available(app_env) is (gates.smoke_token(gates.TokenSpec(), app_env) is not None)


@pytest.mark.parametrize("app_env", [{}, {"JWT_SECRET": "s" * 40}])
def test_a_dry_run_checks_the_token_without_minting_it(monkeypatch, app_env):
    from types import SimpleNamespace

    from deploy.engine.context import smoke_token

    monkeypatch.delenv(gates.TOKEN_VAR, raising=False)
    spec = gates.SmokeSpec(checks=(gates.SmokeCheck(name="can-rate", path="/x", expect=200, auth="bearer"),))
    ctx = SimpleNamespace(spec=spec, app="api", env=SimpleNamespace(app_env=lambda app: app_env))
    if not app_env:
        for mint in (True, False):
            with pytest.raises(ConfigError, match="a check needs a bearer token"):
                smoke_token(ctx, mint=mint)
        return
    assert smoke_token(ctx, mint=False) is None
    assert isinstance(smoke_token(ctx), Secret)


def test_refused_connections_do_not_grow_the_spacing():
    """Nothing listens yet (a boot): every `interval`; an answered failure still backs off."""
    clock = Clock()
    refused = Answer(None, error="connection refused or reset", refused=True)
    result = wait_healthy("http://h/health", "v2", POLICY,
                          scripted(refused, refused, refused, Answer(503), Answer(503), UP), clock, clock.sleep)
    assert result.ok
    assert clock.sleeps[:5] == [0.5, 0.5, 0.5, 0.5, 0.75]

"""Phase 3's metrics gate: error rate and p95 from a bounded probe or from Prometheus.

    load(root)            checks/rollout.yaml -> RolloutSpec (defaults: < 1% errors, p95 < 500 ms)
    measure(...)          one Measurement from the configured source over a window
    verdict(m, gate)      pure: pass only with enough samples, error rate and p95 below the limits

No data is never a pass: too few probe samples, an empty PromQL result or NaN all fail the gate.
The probe keeps its HTTP call (gates.http_get) apart from the pure summary, like the health gate.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Callable, Literal

from pydantic import Field

from deploy.gates import health as gates
from deploy.output import progress
from deploy.releases import steps as releases
from deploy.config.environment import Duration, Environment, HostConfig, Model, read_yaml, validate
from deploy.errors import ConfigError
from deploy.monitoring import metric_names as names
from deploy.secrets import Secret, mask, reveal
from deploy.config.shipped import project_path

FILE = "checks/rollout.yaml"


# -- the spec users edit --------------------------------------------------------------------------
class GateSettings(Model):
    source: Literal["probe", "prometheus"] = "probe"
    max_error_percent: float = Field(1.0, gt=0, le=100)
    max_p95: Duration = 0.5
    min_samples: int = Field(20, ge=1)
    observe: Annotated[Duration, Field(gt=0)] = 60


class ProbeSettings(Model):
    rounds: int = Field(10, ge=1, le=1000)
    timeout: Duration = 2


def _sum(fn: str, name: str, errors: bool = False, by: str = "") -> str:
    return f"sum{by}({fn}({names.selector(name, errors=errors)}[{{window}}]))"


class PromQueries(Model):
    """The default queries read the metric names of deploy/monitoring/metric_names.py (as the
    alerting rules of monitor.rules do); checks/rollout.yaml may replace each one."""

    error_percent: str = Field(
        f"100 * ({_sum('increase', names.REQUESTS, errors=True)} or vector(0)) "
        f"/ {_sum('increase', names.REQUESTS)}", min_length=1)
    p95_seconds: str = Field(
        f"histogram_quantile(0.95, {_sum('rate', names.DURATION_BUCKET, by=' by (le) ')})", min_length=1)
    samples: str = Field(_sum("increase", names.REQUESTS), min_length=1)


class PrometheusSettings(Model):
    url: str | None = None
    timeout: Duration = 5
    lookback: Duration = 300
    queries: PromQueries = PromQueries()


class RolloutSpec(Model):
    gate: GateSettings = GateSettings()
    probe: ProbeSettings = ProbeSettings()
    prometheus: PrometheusSettings = PrometheusSettings()


def load(root: Path) -> RolloutSpec:
    file = project_path(root, FILE)
    if not file.is_file():
        return RolloutSpec()
    return validate(RolloutSpec, read_yaml(file, FILE) or {}, FILE)


def for_environment(spec: RolloutSpec, rollout: object) -> RolloutSpec:
    """Environment-level settings over the project's file: `rollout:` in environments/<name>.yaml
    may give `observe`, `metrics` (probe|prometheus) and `prometheus_url` (each None = the file's)."""
    observe = getattr(rollout, "observe", None)
    source = getattr(rollout, "metrics", None)
    url = getattr(rollout, "prometheus_url", None)
    gate = spec.gate.model_copy(update={k: v for k, v in (("observe", observe), ("source", source)) if v})
    prometheus = spec.prometheus.model_copy(update={"url": reveal(url)} if url else {})
    return spec.model_copy(update={"gate": gate, "prometheus": prometheus})


def check_source(spec: RolloutSpec) -> None:
    """Before anything changes: the prometheus source needs its URL (exit 2 otherwise)."""
    if spec.gate.source == "prometheus" and not spec.prometheus.url:
        raise ConfigError(f"{FILE}: gate.source is prometheus but prometheus.url is not set")


# -- the decision -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    source: str
    window: float                       # seconds judged (0: a burst right now)
    samples: float | None               # requests judged
    error_percent: float | None
    p95_seconds: float | None
    errors: int | None = None           # probe: failed requests
    limited: int = 0                    # probe: 429 answers, judged neither way
    problems: tuple[str, ...] = ()      # probe: which hosts failed how (the worst first)
    missing: dict = field(default_factory=dict)   # figure -> why it has no value (prometheus)

    def as_dict(self) -> dict:
        return {"source": self.source, "window_s": self.window,
                "samples": None if self.samples is None else round(self.samples, 1),
                "errors": self.errors, "limited": self.limited,
                "error_percent": None if self.error_percent is None else round(self.error_percent, 3),
                "p95_ms": None if self.p95_seconds is None else round(self.p95_seconds * 1000, 1),
                "problems": list(self.problems), "missing": dict(self.missing)}

    def describe(self) -> str:
        rate = "n/a" if self.error_percent is None else f"{self.error_percent:.2f}%"
        p95 = "n/a" if self.p95_seconds is None else f"{self.p95_seconds * 1000:.0f} ms"
        count = "n/a" if self.samples is None else f"{self.samples:.0f}"
        return f"{count} requests, error rate {rate}, p95 {p95}"


@dataclass(frozen=True)
class GateVerdict:
    ok: bool
    reasons: tuple[str, ...]
    measurement: Measurement

    def as_dict(self) -> dict:
        return {"ok": self.ok, "reasons": list(self.reasons), **self.measurement.as_dict()}

    def describe(self) -> str:
        return self.measurement.describe() + ("" if self.ok else " - " + "; ".join(self.reasons))


def verdict(m: Measurement, gate: GateSettings) -> GateVerdict:
    """Pass: at least min_samples, error rate < max, p95 < max. A missing figure fails."""
    reasons = []

    def absent(name: str, value: float | None, what: str) -> bool:
        if value is None or math.isnan(value):
            reasons.append(f"no {what}: {m.missing.get(name, 'no data')}")
            return True
        return False

    if not absent("samples", m.samples, "sample count") and m.samples < gate.min_samples:
        extra = f" ({m.limited} more were rate limited)" if m.limited else ""
        reasons.append(f"too few samples: {m.samples:.0f} < {gate.min_samples}{extra}")
    if not absent("error_percent", m.error_percent, "error rate") and m.error_percent >= gate.max_error_percent:
        reasons.append(f"error rate {m.error_percent:.2f}% >= {gate.max_error_percent:g}%")
    if not absent("p95_seconds", m.p95_seconds, "p95 latency") and m.p95_seconds >= gate.max_p95:
        reasons.append(f"p95 {m.p95_seconds * 1000:.0f} ms >= {gate.max_p95 * 1000:.0f} ms")
    if reasons:
        reasons += list(m.problems)   # which hosts failed how: the first thing an operator asks
    return GateVerdict(not reasons, tuple(reasons), m)


# -- probe -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeTarget:
    host: str
    name: str
    url: str
    expect: int
    method: str = "GET"
    token: Secret | None = field(default=None, repr=False)
    app: str = "api"


@dataclass(frozen=True)
class ProbeSample:
    target: ProbeTarget
    status: int | None
    seconds: float
    error: str = ""

    @property
    def kind(self) -> str:
        """ok, error or limited (429: the limiter answered, not the app)."""
        if self.status == 429 and self.target.expect != 429:
            return "limited"
        return "ok" if self.status == self.target.expect else "error"


def probe_targets(env: Environment, smoke: gates.SmokeSpec, token: Secret | None,
                  api_base: Callable[[HostConfig], str] | None = None) -> list[ProbeTarget]:
    """Every smoke check on every API host (`api_base`: its base URL, e.g. the side-by-side slot
    that serves; else the app's port); the health URL of every web host (command mode: the
    public URL's, when there is one)."""
    targets = []
    if "api" in env.apps:
        for host in env.hosts_with(env.apps["api"].role):
            base = api_base(host) if api_base else releases.base_url(env, "api", host)
            for check in smoke.checks:
                targets.append(ProbeTarget(host.name, check.name, base + check.path, check.expect, check.method,
                                           token if check.auth == "bearer" else None))
    web = env.apps.get("web")
    if web is not None and web.mode != "command":
        for host in env.hosts_with(web.role):
            targets.append(ProbeTarget(host.name, "web health", releases.health_url(env, "web", host), 200,
                                       app="web"))
    elif web is not None and env.public_url:      # command mode: what the CDN serves
        targets.append(ProbeTarget("public", "web health", env.public_url.rstrip("/") + web.health_path, 200,
                                   app="web"))
    return targets


def probe(targets: list[ProbeTarget], rounds: int, timeout: float, window: float = 0,
          fetch: Callable[..., gates.Answer] = gates.http_get,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> list[ProbeSample]:
    """`rounds` rounds over every target (each round in parallel), spread over `window`."""
    def one(target: ProbeTarget) -> ProbeSample:
        headers = {"Authorization": f"Bearer {target.token.reveal()}"} if target.token else {}
        started = clock()
        answer = fetch(target.url, timeout, headers, target.method)
        return ProbeSample(target, answer.status, clock() - started, answer.error)

    samples: list[ProbeSample] = []
    if not targets:
        return samples
    gates.http_client()     # loaded before any answer is timed
    begun = clock()
    with ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
        for index in range(rounds):
            due = begun + window * index / rounds
            if due > clock():
                sleep(due - clock())
            samples.extend(pool.map(one, targets))
    return samples


def summarize(samples: list[ProbeSample], window: float) -> Measurement:
    """Pure: error rate over the judged samples, p95 (nearest rank) over the answered ones."""
    judged = [s for s in samples if s.kind != "limited"]
    errors = [s for s in judged if s.kind == "error"]
    timings = sorted(s.seconds for s in judged if s.status is not None)
    p95 = timings[max(0, math.ceil(0.95 * len(timings)) - 1)] if timings else None
    problems: dict[str, int] = {}
    for s in errors:
        what = s.error or (f"HTTP {s.status}, want {s.target.expect}")
        key = f"{s.target.host}: {s.target.name}: {what}"
        problems[key] = problems.get(key, 0) + 1
    return Measurement(
        "probe", window, float(len(judged)), 100.0 * len(errors) / len(judged) if judged else None, p95,
        errors=len(errors), limited=len(samples) - len(judged),
        problems=tuple(mask(f"{k} (x{n})") for k, n in sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))[:5]))


# -- prometheus -----------------------------------------------------------------------------------------
def promql(template: str, window: float) -> str:
    """The query with {window} as a PromQL duration (whole seconds, at least 1s)."""
    return template.replace("{window}", f"{max(1, int(round(window)))}s")


def parse_result(status: int | None, body: str) -> tuple[float | None, str]:
    """Pure: one number from an instant query's answer, or None and why."""
    if status is None:
        return None, body or "no answer"
    try:
        doc = json.loads(body)
    except ValueError:
        return None, f"HTTP {status}, not JSON"
    if not isinstance(doc, dict) or doc.get("status") != "success":
        error = doc.get("error") if isinstance(doc, dict) else None
        return None, f"HTTP {status}: {error or 'query failed'}"
    data = doc.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        raw = result[1]
    elif kind == "vector" and isinstance(result, list):
        if not result:
            return None, "empty result (no data)"
        if len(result) > 1:
            return None, f"{len(result)} series: the query must aggregate to one number"
        raw = (result[0].get("value") or [None, None])[1]
    else:
        return None, f"result type {kind!r}: want a vector or scalar"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None, f"{raw!r} is not a number"
    if math.isnan(value):
        return None, "NaN (no data in the window)"
    return value, ""


def prom_query(url: str, query: str, timeout: float) -> tuple[float | None, str]:
    import requests  # here, not at the top: loaded when Prometheus is asked, not by every importer

    try:
        with requests.Session() as session:
            session.trust_env = False
            resp = session.get(url.rstrip("/") + "/api/v1/query", params={"query": query}, timeout=timeout)
        return parse_result(resp.status_code, resp.text)
    except requests.RequestException as exc:
        return None, mask(str(exc).splitlines()[0][:200]) or type(exc).__name__


def measure_prometheus(settings: PrometheusSettings, window: float,
                       query: Callable[[str, str, float], tuple[float | None, str]] = prom_query) -> Measurement:
    values, missing = {}, {}
    for name in ("samples", "error_percent", "p95_seconds"):
        value, problem = query(settings.url or "", promql(getattr(settings.queries, name), window), settings.timeout)
        values[name] = value
        if problem:
            missing[name] = problem
    return Measurement("prometheus", window, values["samples"], values["error_percent"], values["p95_seconds"],
                       missing=missing)


# -- the gate, end to end ---------------------------------------------------------------------------------
def measure(spec: RolloutSpec, targets: list[ProbeTarget], observing: float = 0,
            sleep: Callable[[float], None] = time.sleep) -> GateVerdict:
    """Before a change (observing 0): judge now. After it: judge the next `observing` seconds."""
    if observing > 0:
        with progress.wait(f"observing the metrics gate ({spec.gate.source})", total=observing):
            return _measure(spec, targets, observing, sleep)
    return _measure(spec, targets, observing, sleep)


def _measure(spec: RolloutSpec, targets: list[ProbeTarget], observing: float,
             sleep: Callable[[float], None]) -> GateVerdict:
    if spec.gate.source == "prometheus":
        if observing > 0:
            sleep(observing)
        window = observing if observing > 0 else spec.prometheus.lookback
        return verdict(measure_prometheus(spec.prometheus, window), spec.gate)
    samples = probe(targets, spec.probe.rounds, spec.probe.timeout, observing, sleep=sleep)
    return verdict(summarize(samples, observing), spec.gate)

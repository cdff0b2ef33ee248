"""The metrics gate (deploy/gates/metrics.py): the verdict, the probe's summary and pacing, the
Prometheus answer parser and the spec - with fake clocks and fake answers, no network."""

import json
import math
import textwrap
from pathlib import Path

import pytest

from deploy.gates import metrics as mg
from deploy.errors import ConfigError
from deploy.gates.health import Answer
from deploy.gates.metrics import GateSettings, Measurement, ProbeSample, ProbeTarget

GATE = GateSettings()      # defaults: < 1% errors, p95 < 500 ms, at least 20 samples


def m(samples=100, error_percent=0.0, p95=0.1, **kw):
    return Measurement("probe", 0, samples, error_percent, p95, **kw)


# -- the verdict ----------------------------------------------------------------------------------
def test_passes_below_every_limit():
    verdict = mg.verdict(m(), GATE)
    assert verdict.ok and verdict.reasons == ()
    assert verdict.describe() == "100 requests, error rate 0.00%, p95 100 ms"


@pytest.mark.parametrize("measurement, reason", [
    (m(samples=19), "too few samples: 19 < 20"),
    (m(samples=0, error_percent=None, p95=None), "too few samples: 0 < 20"),
    (m(error_percent=1.0), "error rate 1.00% >= 1%"),          # the limit itself fails: < 1% passes
    (m(error_percent=7.5), "error rate 7.50% >= 1%"),
    (m(p95=0.5), "p95 500 ms >= 500 ms"),
    (m(p95=float("nan")), "no p95 latency: no data"),
    (m(error_percent=None), "no error rate: no data"),
    (m(samples=None), "no sample count: no data"),
    (m(samples=5, limited=30), "too few samples: 5 < 20 (30 more were rate limited)"),
])
def test_fails_on_any_limit_or_missing_figure(measurement, reason):
    verdict = mg.verdict(measurement, GATE)
    assert not verdict.ok and reason in verdict.reasons


def test_missing_prometheus_figures_say_why():
    measured = Measurement("prometheus", 300, None, math.nan, 0.1, missing={"samples": "empty result (no data)"})
    verdict = mg.verdict(measured, GATE)
    assert verdict.reasons == ("no sample count: empty result (no data)", "no error rate: no data")


def test_failed_hosts_are_named_when_the_gate_fails():
    verdict = mg.verdict(m(error_percent=50, problems=("api-1: can-rate: HTTP 503, want 200 (x5)",)), GATE)
    assert verdict.reasons[-1] == "api-1: can-rate: HTTP 503, want 200 (x5)"


# -- the probe ---------------------------------------------------------------------------------------
HEALTH = ProbeTarget("api-1", "health", "http://a/health", 200)
NO_TOKEN = ProbeTarget("api-1", "ratings need a token", "http://a/r", 401)


def sample(target, status, seconds=0.01, error=""):
    return ProbeSample(target, status, seconds, error)


def test_summary_counts_unexpected_answers_as_errors_and_429_as_neither():
    samples = ([sample(HEALTH, 200, 0.01 * i) for i in range(1, 18)]
               + [sample(NO_TOKEN, 401), sample(NO_TOKEN, 503), sample(HEALTH, None, 2.0, "connection refused or reset")]
               + [sample(NO_TOKEN, 429)] * 4)
    got = mg.summarize(samples, window=0)
    assert (got.samples, got.errors, got.limited) == (20, 2, 4)
    assert got.error_percent == 10.0
    assert got.p95_seconds == 0.17        # nearest rank over the 19 answered: the 19th smallest
    assert got.problems == ("api-1: health: connection refused or reset (x1)",
                            "api-1: ratings need a token: HTTP 503, want 401 (x1)")


def test_an_empty_probe_has_no_figures():
    got = mg.summarize([], 0)
    assert (got.samples, got.error_percent, got.p95_seconds) == (0, None, None)
    assert not mg.verdict(got, GATE).ok


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def test_probe_rounds_are_spread_over_the_window_and_send_the_token():
    clock, calls = Clock(), []

    def fetch(url, timeout, headers, method):
        calls.append((url, headers.get("Authorization"), round(clock.now, 3)))
        return Answer(200, "{}")

    from deploy.secrets import Secret
    token = ProbeTarget("api-1", "can-rate", "http://a/c", 200, token=Secret("tok-en-value"))
    samples = mg.probe([HEALTH, token], rounds=4, timeout=1, window=2.0, fetch=fetch, clock=clock,
                       sleep=clock.sleep)
    assert len(samples) == 8 and all(s.kind == "ok" for s in samples)
    assert clock.sleeps == [0.5, 0.5, 0.5]
    assert sorted({at for _, _, at in calls}) == [0.0, 0.5, 1.0, 1.5]
    assert {auth for url, auth, _ in calls if url == "http://a/c"} == {"Bearer tok-en-value"}
    assert {auth for url, auth, _ in calls if url == "http://a/health"} == {None}


def test_probe_before_a_change_is_a_burst():
    clock = Clock()
    mg.probe([HEALTH], rounds=5, timeout=1, window=0, fetch=lambda *a: Answer(200, ""), clock=clock,
             sleep=clock.sleep)
    assert clock.sleeps == []


# -- prometheus ----------------------------------------------------------------------------------------
def vector(*values):
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1700000000.0, v]} for v in values]}})


@pytest.mark.parametrize("status, body, value, problem", [
    (200, vector("0.25"), 0.25, ""),
    (200, json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}), 3.0, ""),
    (200, vector(), None, "empty result (no data)"),
    (200, vector("NaN"), None, "NaN (no data in the window)"),
    (200, vector("1", "2"), None, "2 series: the query must aggregate to one number"),
    (400, json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}), None,
     "HTTP 400: parse error at char 3"),
    (200, "<html>", None, "HTTP 200, not JSON"),
    (200, json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}), None,
     "result type 'matrix': want a vector or scalar"),
    (None, "connection refused", None, "connection refused"),
])
def test_prometheus_answers(status, body, value, problem):
    assert mg.parse_result(status, body) == (value, problem)


def test_queries_get_the_window_and_missing_figures_fail():
    sent = []

    def query(url, text, timeout):
        sent.append(text)
        return {"samples": (120.0, ""), "error": (None, "NaN (no data in the window)")}.get(
            "samples" if "increase(http_requests_total{route" in text and "status" not in text else "error",
            (0.2, ""))

    settings = mg.PrometheusSettings(url="http://prom:9090")
    got = mg.measure_prometheus(settings, 90, query=query)
    assert all("[90s]" in text and "{window}" not in text for text in sent)
    assert got.samples == 120.0 and got.error_percent is None
    assert not mg.verdict(got, GATE).ok


def test_promql_window():
    assert mg.promql("rate(x[{window}])", 0.2) == "rate(x[1s])"
    assert mg.promql("rate(x[{window}])", 300) == "rate(x[300s])"


# -- the spec --------------------------------------------------------------------------------------------
def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "checks" / "rollout.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def test_the_shipped_file_is_the_defaults():
    shipped = mg.load(Path(__file__).resolve().parents[2])
    assert shipped == mg.RolloutSpec()
    assert (shipped.gate.max_error_percent, shipped.gate.max_p95, shipped.gate.min_samples) == (1, 0.5, 20)


def test_spec_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="checks/rollout.yaml: gate.colour: unknown key"):
        mg.load(write(tmp_path, "gate: {colour: blue}\n"))
    with pytest.raises(ConfigError, match="gate.source"):
        mg.load(write(tmp_path, "gate: {source: datadog}\n"))
    with pytest.raises(ConfigError, match="gate.max_p95"):
        mg.load(write(tmp_path, "gate: {max_p95: soon}\n"))
    assert mg.load(tmp_path / "nowhere") == mg.RolloutSpec()


def test_prometheus_source_needs_a_url(tmp_path):
    spec = mg.load(write(tmp_path, "gate: {source: prometheus}\n"))
    with pytest.raises(ConfigError, match="prometheus.url is not set"):
        mg.check_source(spec)
    mg.check_source(mg.load(write(tmp_path, "gate: {source: prometheus}\nprometheus: {url: 'http://p:9090'}\n")))


def test_the_environment_overrides_the_file():
    from types import SimpleNamespace

    from deploy.secrets import Secret
    spec = mg.RolloutSpec()
    assert mg.for_environment(spec, SimpleNamespace(flag="rating")) == spec       # no such fields: the file's
    chosen = mg.for_environment(spec, SimpleNamespace(observe=2.0, metrics="prometheus",
                                                      prometheus_url=Secret("http://user:pw@prom:9090")))
    assert (chosen.gate.observe, chosen.gate.source) == (2.0, "prometheus")
    assert chosen.prometheus.url == "http://user:pw@prom:9090" and chosen.gate.max_p95 == 0.5

"""The Prometheus text parser, histogram quantiles and per-host API figures (pure, no network)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from deploy.monitoring import api_stats, histogram, prometheus
from deploy.monitoring.prometheus import MetricsFormatError, Sample

APP_METRICS = Path(__file__).resolve().parents[2] / "examples" / "marketplace" / "marketplace" / "metrics.py"


def app_metrics():
    """The stand-in app's own registry: our parser must read exactly what the app serves."""
    spec = importlib.util.spec_from_file_location("standin_metrics", APP_METRICS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.AppMetrics("api", "1.4.0", 25, True)


def test_parses_the_apps_exposition_and_computes_its_figures():
    m = app_metrics()
    for _ in range(90):
        m.observe_request("/api/v1/ratings/seller/:id", "GET", 200, 0.02)
    for _ in range(6):
        m.observe_request("/api/v1/ratings", "POST", 201, 0.3)
    for _ in range(4):
        m.observe_request("/api/v1/ratings", "POST", 503, 1.5)
    for _ in range(50):                              # not rating endpoints: never counted
        m.observe_request("/health", "GET", 200, 3.0)
        m.observe_request("/metrics", "GET", 500, 3.0)
    m.rate_limited.inc(3, limiter="read")
    m.rate_limited.inc(2, limiter="create")
    samples = prometheus.parse(m.render())
    stats = api_stats.stats(samples)
    assert (stats.requests, stats.errors, stats.rate_limit_hits) == (100, 4, 5)
    assert stats.error_rate == pytest.approx(4.0)
    # rank 95 of 100: 96 requests <= 0.5 s, so p95 is inside (0.25, 0.5]: 0.25 + 0.25 * (95 - 90) / 6
    assert stats.p95_seconds == pytest.approx(0.25 + 0.25 * 5 / 6)
    assert stats.as_dict() == {"requests": 100, "errors": 4, "error_rate_percent": 4.0, "p95_ms": 458.3,
                               "rate_limit_hits": 5}
    info = prometheus.select(samples, "app_info")[0]
    assert info.label("version") == "1.4.0" and info.value == 1


def test_labels_escapes_special_values_timestamps_and_comments():
    text = "\n".join([
        "# HELP x Something.", "# TYPE x counter", "",
        'x{path="/a\\"b\\\\c\\nd",le="+Inf"} 3 1700000000000',
        "y +Inf", "z -Inf", "w NaN", "v 1.5e3", 'u{a="1",} 2', "t{} 4",
    ])
    s = prometheus.parse(text)
    assert s[0] == Sample("x", (("path", '/a"b\\c\nd'), ("le", "+Inf")), 3.0)
    assert s[1].value == math.inf and s[2].value == -math.inf and math.isnan(s[3].value)
    assert s[4].value == 1500.0 and s[5].labels == (("a", "1"),) and s[6] == Sample("t", (), 4.0)


@pytest.mark.parametrize("line, problem", [
    ("x", "expected a value"),
    ("x 1 2 3", "expected a value"),
    ('x{a="1"', "unterminated"),
    ("x{a=1} 2", "bad label"),
    ("x abc", "'abc' is not a number"),
    ("{a=\"1\"} 2", "no metric name"),
])
def test_malformed_lines_name_their_line_number(line, problem):
    with pytest.raises(MetricsFormatError, match=rf"line 2: .*{problem}"):
        prometheus.parse(f"ok 1\n{line}\n")


def test_quantile_interpolates_like_histogram_quantile():
    found = [(0.1, 10.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)]
    assert histogram.quantile(0.95, found) == pytest.approx(0.75)
    assert histogram.quantile(0.5, found) == pytest.approx(0.3)
    assert histogram.quantile(0.05, found) == pytest.approx(0.05)       # first bucket starts at 0


def test_quantile_edges():
    assert histogram.quantile(0.95, []) is None
    assert histogram.quantile(0.95, [(0.5, 0.0), (math.inf, 0.0)]) is None
    assert histogram.quantile(0.95, [(0.5, 1.0), (1.0, 2.0)]) is None        # no +Inf bucket: not a histogram
    # the rank lands in +Inf: only known to be above the highest bound
    assert histogram.quantile(0.95, [(0.5, 10.0), (1.0, 50.0), (math.inf, 100.0)]) == 1.0


def test_buckets_sum_over_series_per_bound():
    samples = prometheus.parse("\n".join([
        'd_bucket{route="/api/a",le="0.5"} 2', 'd_bucket{route="/api/a",le="+Inf"} 3',
        'd_bucket{route="/api/b",le="0.5"} 5', 'd_bucket{route="/api/b",le="+Inf"} 5',
        'd_bucket{route="/health",le="0.5"} 100', 'd_bucket{route="/health",le="+Inf"} 100',
    ]))
    on_api = lambda s: s.label("route").startswith("/api/")  # noqa: E731
    assert histogram.buckets(samples, "d", on_api) == [(0.5, 7.0), (math.inf, 8.0)]


def test_delta_between_two_scrapes_handles_a_restart():
    before = [Sample("c", (("k", "a"),), 10), Sample("c", (("k", "b"),), 50)]
    after = [Sample("c", (("k", "a"),), 14), Sample("c", (("k", "b"),), 3), Sample("c", (("k", "new"),), 2)]
    assert [s.value for s in api_stats.delta(before, after)] == [4, 3, 2]


def test_no_requests_means_no_rate_and_no_latency():
    stats = api_stats.stats(prometheus.parse(app_metrics().render()))
    assert stats.requests == 0 and stats.error_rate is None and stats.p95_seconds is None

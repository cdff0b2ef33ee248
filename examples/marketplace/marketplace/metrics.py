"""A minimal Prometheus registry: counters, gauges and histograms in text format 0.0.4.

prometheus_client would do, but the app keeps to the standard library plus PyJWT; the
exposition format is small and stable enough to write by hand.
"""

from __future__ import annotations

import math
import threading
from typing import Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# prom-client's defaults, which the Node app exported.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()):
        self.name = name
        self.help = help_text
        self.labelnames = labelnames
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = (), buckets=DEFAULT_BUCKETS):
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[tuple[str, ...], list] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            series = self._series.setdefault(key, [[0] * len(self.buckets), 0.0, 0])
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[0][i] += 1
                    break
            series[1] += value
            series[2] += 1

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, ([*v[0]], v[1], v[2])) for k, v in self._series.items())
        out = []
        for key, (counts, total, count) in items:
            cumulative = 0
            for bound, n in zip(self.buckets, counts):
                cumulative += n
                le = 'le="' + _number(bound) + '"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {cumulative}")
            inf = 'le="+Inf"'
            out.append(f"{self.name}_bucket{_labels(self.labelnames, key, inf)} {count}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(total)}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {count}")
        return out


class Registry:
    def __init__(self):
        self._metrics: list[_Metric] = []

    def add(self, metric):
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics:
            lines.extend(metric.header())
            lines.extend(metric.lines())
        return "\n".join(lines) + "\n"


class AppMetrics:
    """The series both processes export; the pipeline's metrics gate reads these names."""

    def __init__(self, app: str, version: str, flag_percentage: int, flag_enabled: bool):
        self.registry = Registry()
        add = self.registry.add
        self.requests = add(Counter("http_requests_total", "HTTP requests by route pattern, method and status.",
                                    ("route", "method", "status")))
        self.duration = add(Histogram("http_request_duration_seconds", "HTTP request duration in seconds.",
                                      ("route", "method")))
        self.rate_limited = add(Counter("rate_limit_hits_total", "Requests refused with 429, by limiter.",
                                        ("limiter",)))
        self.info = add(Gauge("app_info", "Always 1; labels carry the running version.", ("app", "version")))
        self.flag_percentage = add(Gauge("rating_feature_percentage", "Configured rollout percentage of the rating feature."))
        self.flag_enabled = add(Gauge("rating_feature_enabled", "1 when ENABLE_RATING_FEATURE is true."))
        self.info.set(1, app=app, version=version)
        self.flag_percentage.set(flag_percentage)
        self.flag_enabled.set(1 if flag_enabled else 0)
        for limiter in ("read", "create"):
            self.rate_limited.inc(0, limiter=limiter)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.inc(route=route, method=method, status=str(status))
        self.duration.observe(seconds, route=route, method=method)

    def render(self) -> str:
        return self.registry.render()

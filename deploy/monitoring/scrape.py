"""GET /metrics from every API host: once (totals since each process started) or twice over a
window (the increase in between). The hosts are asked in parallel; one that does not answer is
reported with the reason, never dropped."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from deploy.config.environment import Environment
from deploy.errors import ConfigError
from deploy.monitoring import api_stats, prometheus
from deploy.monitoring.prometheus import Sample
from deploy.secrets import mask

API_APP = "api"


@dataclass(frozen=True)
class Target:
    host: str
    url: str


@dataclass(frozen=True)
class HostScrape:
    host: str
    url: str
    samples: list[Sample] | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def targets(env: Environment) -> list[Target]:
    """http://<address>:<apps.api.port>/metrics for each host with the api app's role."""
    app = env.apps.get(API_APP)
    if app is None:
        raise ConfigError(f"{env.source_file}: no apps.{API_APP}: the API's port is needed to read /metrics "
                          "(or disable error_rate, latency and rate_limit in checks/alerts.yaml)")
    hosts = env.hosts_with(app.role)
    if not hosts:
        raise ConfigError(f"{env.source_file}: no host has the role {app.role!r} of apps.{API_APP}")
    return [Target(h.name, f"http://{_netloc(h.address or '127.0.0.1', app.port)}/metrics") for h in hosts]


def window_text(window: float) -> str:
    return f"in {window:g} s" if window > 0 else "since the process started"


def scrape(found: list[Target], timeout: float, window: float = 0,
           sleep: Callable[[float], None] = time.sleep) -> list[HostScrape]:
    first = _fetch_all(found, timeout)
    if window <= 0:
        return first
    sleep(window)
    second = _fetch_all(found, timeout)
    out = []
    for a, b in zip(first, second):
        if not a.ok or not b.ok:
            out.append(a if not a.ok else b)
        else:
            out.append(HostScrape(a.host, a.url, api_stats.delta(a.samples or [], b.samples or [])))
    return out


def fetch(target: Target, timeout: float) -> HostScrape:
    import requests  # here, not at the top: loaded when a host is scraped, not by every importer

    try:
        response = requests.get(target.url, timeout=timeout)
    except requests.Timeout:
        return HostScrape(target.host, target.url, None, f"no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return HostScrape(target.host, target.url, None, _reason(exc))
    if response.status_code != 200:
        return HostScrape(target.host, target.url, None, f"HTTP {response.status_code}")
    try:
        return HostScrape(target.host, target.url, prometheus.parse(response.text))
    except prometheus.MetricsFormatError as exc:
        return HostScrape(target.host, target.url, None, f"not Prometheus text: {exc}")


def _fetch_all(found: list[Target], timeout: float) -> list[HostScrape]:
    if not found:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(found))) as pool:
        return list(pool.map(lambda t: fetch(t, timeout), found))


def _reason(exc: Exception) -> str:
    text = str(exc)
    for pattern, reason in ((r"refused", "connection refused"), (r"Name or service not known|nodename",
                                                                  "unknown host name"),
                            (r"unreachable", "network unreachable")):
        if re.search(pattern, text, re.I):
            return reason
    return mask(text.splitlines()[0][:200]) if text else type(exc).__name__


def _netloc(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"

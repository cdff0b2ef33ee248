"""The API's metric names and label matchers, in one place.

Phase 3's metrics gate (deploy/gates/metrics.py: its default PromQL), monitor.alerts' scraper
(api_stats) and the Prometheus alerting rules (monitor.rules) all read these; the stand-in API
(examples/marketplace/marketplace/metrics.py) exports them, and a unit test holds the two together.
"""

from __future__ import annotations

import re

REQUESTS = "http_requests_total"                     # counter: route, method, status
DURATION = "http_request_duration_seconds"           # histogram: route, method (le on _bucket)
DURATION_BUCKET = DURATION + "_bucket"
RATE_LIMITED = "rate_limit_hits_total"               # counter: limiter (429s)
UP = "up"                                            # Prometheus's own: 1 when the scrape worked

ROUTE, STATUS, INSTANCE = "route", "status", "instance"
SERVER_ERRORS = "5.."                                # status regex: 5xx
API_ROUTES = "/api/"                                 # the rating endpoints (not /health, /metrics)


def prefix_regex(prefix: str) -> str:
    """A PromQL label regex for "starts with prefix": RE2 metacharacters escaped, then the
    backslashes doubled for the double-quoted PromQL string."""
    escaped = re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", prefix) + ".*"
    return escaped.replace("\\", "\\\\").replace('"', '\\"')


def selector(name: str, route_prefix: str | None = API_ROUTES, errors: bool = False,
             job: str | None = None) -> str:
    """name{job="...",route=~"/api/.*",status=~"5.."}: only the matchers asked for."""
    matchers = []
    if job:
        matchers.append(f'job="{job}"')
    if route_prefix:
        matchers.append(f'{ROUTE}=~"{prefix_regex(route_prefix)}"')
    if errors:
        matchers.append(f'{STATUS}=~"{SERVER_ERRORS}"')
    return name + ("{" + ",".join(matchers) + "}" if matchers else "")

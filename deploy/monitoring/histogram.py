"""Pure: quantiles from Prometheus histogram buckets, as PromQL's histogram_quantile computes them.

The buckets are cumulative counts per upper bound `le`. The quantile's rank falls in one bucket;
the value is interpolated linearly inside it (the lowest bucket starts at 0). A rank in the +Inf
bucket returns the highest finite bound: the true value is only known to be above it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable, Iterable

from deploy.monitoring.prometheus import Sample, select

Buckets = list[tuple[float, float]]   # (le, cumulative count), ascending le


def buckets(samples: Iterable[Sample], metric: str,
            where: Callable[[Sample], bool] | None = None) -> Buckets:
    """The `<metric>_bucket` series that match, summed per `le` (over routes, methods ...)."""
    sums: dict[float, float] = defaultdict(float)
    for s in select(samples, f"{metric}_bucket", where):
        le = s.label("le")
        if le:
            sums[math.inf if le in ("+Inf", "Inf", "inf") else float(le)] += s.value
    return sorted(sums.items())


def quantile(q: float, found: Buckets) -> float | None:
    """The q-quantile (0 < q < 1) in the bucket unit, or None without observations."""
    if not found or found[-1][0] != math.inf:
        return None
    count = found[-1][1]
    if count <= 0:
        return None
    rank = q * count
    lower, below = 0.0, 0.0
    for le, cumulative in found:
        if cumulative >= rank:
            if le == math.inf:
                finite = [b for b, _ in found if b != math.inf]
                return finite[-1] if finite else None
            inside = cumulative - below
            if inside <= 0:
                return le
            return lower + (le - lower) * (rank - below) / inside
        lower, below = le, cumulative
    return None

"""Fixed-window rate limiting per client, the behaviour of express-rate-limit's memory store.

The runbook's API has two limiters: readLimiter for reads and a stricter createLimiter for
writes. Both live in this process's memory, so with N instances behind a balancer the
effective limit is N times the configured one, as it was with the Node app.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until this client's window ends

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_after))


class FixedWindowLimiter:
    def __init__(self, name: str, window_ms: int, max_requests: int, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.window = window_ms / 1000.0
        self.max_requests = max_requests
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + self.window

    def hit(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
        reset_after = start + self.window - now
        allowed = count <= self.max_requests
        return Decision(allowed, self.max_requests, max(0, self.max_requests - count), reset_after)

    def _sweep(self, now: float) -> None:
        # Drop finished windows so memory follows active clients, not every client ever seen.
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < self.window}
        self._next_sweep = now + self.window


def write_limit(max_requests: int) -> int:
    """createLimiter: a tenth of the read limit, at least one request per window."""
    return max(1, max_requests // 10)

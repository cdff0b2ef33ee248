"""A host's turn as data: Exec and Upload (deploy.releases.steps) joined by Drain, Ready, LbState and HealthGate.

Pure: each step shows itself as the lines --dry-run prints (`lines`); deploy.engine.turn is the
one place that applies them, so a dry run prints the very list a run applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from deploy.commands import haproxy
from deploy.gates.health import HealthPolicy, spacing_text
from deploy.releases.steps import Exec, Upload
from deploy.flag.rollout import FlagState


@dataclass(frozen=True)
class Drain:
    """Out of the load balancer: drain, wait for 0 sessions (or the deadline), maint."""

    backend: str
    server: str
    deadline: float
    interval: float

    def show(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> list[str]:
        return [f"lb      {haproxy.set_state(self.backend, self.server, 'drain')}",
                f"lb      wait for 0 sessions (at most {self.deadline:g}s)",
                f"lb      {haproxy.set_state(self.backend, self.server, 'maint')}"]


@dataclass(frozen=True)
class Ready:
    """Back into the load balancer."""

    backend: str
    server: str

    def show(self) -> str:
        return f"lb      {haproxy.set_state(self.backend, self.server, 'ready')}"


@dataclass(frozen=True)
class LbState:
    """One server's state at the load balancer, no wait (the side-by-side switch: the new slot's
    server ready, then the old one's drain)."""

    backend: str
    server: str
    state: str

    def show(self) -> str:
        return f"lb      {haproxy.set_state(self.backend, self.server, self.state)}"


@dataclass(frozen=True)
class HealthGate:
    """The app answers healthy `passes` times in a row: on `release` (a pm2 app: every worker
    too, deploy.engine.workers), or serving `flag` after a flag reload."""

    url: str
    release: str | None
    policy: HealthPolicy
    flag: FlagState | None = None
    program: Any = None     # the process gated (pm2 workers, its error log): None = the app's own

    def show(self) -> str:
        if self.flag is not None:
            return f"gate    GET {self.url} until it serves flag {self.flag.describe()}"
        return (f"gate    GET {self.url} until 200 with version {self.release}, "
                f"{self.policy.passes} in a row {spacing_text(self.policy.interval)} apart "
                f"within {self.policy.deadline:g}s")


Step = Union[Exec, Upload, Drain, Ready, LbState, HealthGate]


def lines(steps: list) -> list[str]:
    """The dry-run lines of a list of steps (a drain shows as its three runtime commands)."""
    found: list[str] = []
    for step in steps:
        found += step.lines() if hasattr(step, "lines") else [step.show()]
    return found

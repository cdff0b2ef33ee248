"""What happened to one host in a run (filled in by the fleet's worker threads)."""

from __future__ import annotations

from dataclasses import dataclass

from deploy.gates import health as gates
from deploy.releases import slots
from deploy.commands.release import HostReleases
from deploy.config.environment import HostConfig


@dataclass
class HostRun:
    name: str
    config: HostConfig
    before: HostReleases | None = None
    target: str | None = None          # the release the host is moved to (a restart: the one it runs)
    previous: str | None = None        # where `previous` points after the switch
    uploaded: bool = False
    artifact: str | None = None        # releases.UPLOADED or REUSED (the host held its sha256)
    drained: bool = False              # taken out of the load balancer by this run
    switched: bool = False
    restarted: bool = False
    in_service: bool = False           # through its whole turn (and back in the load balancer)
    gate: gates.GateResult | None = None
    now: str | None = None
    note: str = ""
    error: str | None = None
    pid_before: int | None = None
    pid_after: int | None = None
    slot: slots.Slot | None = None     # side by side: the slot that serves (read on the host)

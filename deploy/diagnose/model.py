"""What db.diagnose gathers (collect.py, timing.py) and what it concludes (rules.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # annotations only: db.diagnose --help reads Limits without loading the database code
    from deploy.db.schema_introspect import LiveIndex
    from deploy.diagnose.plans import Plan
    from deploy.diagnose.probes import Probe

TABLE = "SellerRatings"
PROBLEM, WARN, OK = "problem", "warn", "ok"


@dataclass(frozen=True)
class Finding:
    status: str        # problem (exit 1) | warn | ok
    text: str          # one plain-language line
    check: str         # unique | index | plan | duplicates | timing | table


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    sql: str
    plan: Plan | None = None
    index_only: Plan | None = None     # PostgreSQL: the plan with sequential scans priced out
    error: str | None = None
    text_plan: tuple[str, ...] = ()    # --verbose: the plan as the server prints it
    statistics: tuple[str, ...] = ()   # --verbose on SQL Server: STATISTICS IO/TIME messages


@dataclass(frozen=True)
class Timed:
    name: str
    ms: float | None           # median of the runs; None when it failed
    rows: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Limits:
    large_rows: int = 10_000   # from here on, reading the whole table is a problem
    slow_ms: float = 100.0     # the runbook: aggregate queries should complete in < 100 ms


@dataclass
class Evidence:
    dialect: str
    has_table: bool = True
    indexes: list[LiveIndex] = field(default_factory=list)     # on SellerRatings
    row_counts: dict[str, int] = field(default_factory=dict)
    probes: list[ProbeResult] = field(default_factory=list)
    duplicates: tuple[int, int] | None = None   # (pairs, extra ratings), checked without the index
    timings: list[Timed] = field(default_factory=list)

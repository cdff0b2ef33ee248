"""Pure: the feature flag's stage policy, its soak gates, and the reference bucketing.

The flag is two values in the apps' env files: ENABLE_RATING_FEATURE (the master switch) and
RATING_ROLLOUT_PERCENTAGE. What users see is the *effective* percentage: the percentage when the
switch is on, 0 when it is off. A step moves the effective percentage between configured stages
(10, 25, 50, 100): up one stage at a time (unless forced) after the current stage has soaked,
down at any time.

Bucketing is Unleash's gradualRollout with userId stickiness, the same function as the stand-in
app's marketplace/bucketing.py: murmur3 (x86, 32-bit, seed 0) of "<flag>:<userId>", % 100 + 1;
a user is in when that is <= the percentage. Raising the percentage only adds users.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Mapping

from deploy.errors import ConfigError

ENABLE_VAR = "ENABLE_RATING_FEATURE"
PERCENT_VAR = "RATING_ROLLOUT_PERCENTAGE"
FLAG_VARS = (ENABLE_VAR, PERCENT_VAR)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_C1, _C2, _MASK = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF


# -- bucketing ----------------------------------------------------------------------------------
def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, unsigned."""
    h = seed & _MASK
    nblocks = len(data) // 4
    for (k,) in struct.iter_unpack("<I", data[:nblocks * 4]):
        k = _rotl((k * _C1) & _MASK, 15)
        h ^= (k * _C2) & _MASK
        h = (_rotl(h, 13) * 5 + 0xE6546B64) & _MASK
    tail = data[nblocks * 4:]
    k = 0
    for i in reversed(range(len(tail))):
        k ^= tail[i] << (8 * i)
    if tail:
        k = _rotl((k * _C1) & _MASK, 15)
        h ^= (k * _C2) & _MASK
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def bucket(flag: str, user_id: object) -> int:
    """The user's fixed point on the 1..100 scale for this flag."""
    return murmur3_32(f"{flag}:{user_id}".encode("utf-8")) % 100 + 1


def in_rollout(flag: str, user_id: object, percentage: int) -> bool:
    """No user id, no gradual rollout (as Unleash)."""
    if user_id is None or str(user_id) == "":
        return False
    return bucket(flag, user_id) <= percentage


# -- the flag's state -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FlagState:
    enabled: bool
    percentage: int

    @property
    def effective(self) -> int:
        """The share of users who see the feature."""
        return self.percentage if self.enabled else 0

    def env(self) -> dict[str, str]:
        """The two env-file values."""
        return {ENABLE_VAR: "true" if self.enabled else "false", PERCENT_VAR: str(self.percentage)}

    def describe(self) -> str:
        return f"{self.percentage}%" if self.enabled else f"off ({self.percentage}%)"

    def as_dict(self) -> dict:
        return {"enabled": self.enabled, "percentage": self.percentage, "effective": self.effective}


def state_from_env(values: Mapping[str, str], default: "FlagState | None" = None) -> "FlagState | None":
    """The flag from env-file values (as the stand-in reads them); None when unreadable."""
    raw_on = str(values.get(ENABLE_VAR, "")).strip().strip("'\"").lower()
    raw_pct = str(values.get(PERCENT_VAR, "")).strip().strip("'\"")
    if not raw_on and not raw_pct:
        return default
    if raw_on and raw_on not in _TRUE + _FALSE:
        return None
    enabled = raw_on in _TRUE
    if not raw_pct:
        return FlagState(enabled, 100)   # the stand-in's default percentage
    if not raw_pct.isdigit() or not 0 <= int(raw_pct) <= 100:
        return None
    return FlagState(enabled, int(raw_pct))


def state_from_details(details: Mapping) -> FlagState | None:
    """The state a journaled rollout event left behind (details as phase 3 writes them)."""
    if not isinstance(details, Mapping):
        return None
    pct, enabled, kept = details.get("percentage"), details.get("enabled"), details.get("configured")
    if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
        return None
    if enabled is None:
        enabled = pct > 0
    configured = kept if isinstance(kept, int) and not isinstance(kept, bool) and 0 <= kept <= 100 else pct
    return FlagState(bool(enabled), configured)


def rollout_details(previous: FlagState, target: FlagState, **extra) -> dict:
    """What a rollout event records: "percentage" and "previous" are the effective values (the
    monitoring report reads exactly these); "configured" keeps a switched-off percentage."""
    return {"percentage": target.effective, "previous": previous.effective, "enabled": target.enabled,
            "configured": target.percentage, **extra}


# -- stages ---------------------------------------------------------------------------------------
def parse_stage(value: object, stages: tuple[int, ...]) -> int:
    """--rollout N: one of the configured stages, or a ConfigError listing them (exit 2)."""
    allowed = ", ".join(str(s) for s in stages)
    text = str(value).strip().rstrip("%") if value is not None else ""
    if not text.isdigit() or int(text) not in stages:
        raise ConfigError(f"--rollout: {str(value).strip()!r} is not a stage (the stages are {allowed})")
    return int(text)


Direction = Literal["up", "down", "same"]


@dataclass(frozen=True)
class Move:
    previous: FlagState
    target: FlagState
    forced: bool = False

    @property
    def direction(self) -> Direction:
        if self.target.effective > self.previous.effective:
            return "up"
        return "down" if self.target.effective < self.previous.effective else "same"

    @property
    def first_step(self) -> bool:
        """Users see the feature for the first time (since it was off): the phase-2 soak applies."""
        return self.direction == "up" and self.previous.effective == 0

    def describe(self) -> str:
        return f"{self.previous.describe()} -> {self.target.describe()}"


def next_stage(current: int, stages: tuple[int, ...]) -> int | None:
    """The first stage above the current effective percentage."""
    above = [s for s in stages if s > current]
    return above[0] if above else None


def plan(previous: FlagState, percentage: int, stages: tuple[int, ...], force: bool = False) -> Move:
    """The move to `percentage` (switch on); refuses skipping a stage upward unless forced."""
    move = Move(previous, FlagState(True, percentage), forced=force)
    if move.direction == "up" and not force:
        step = next_stage(previous.effective, stages)
        if step is not None and percentage > step:
            raise ConfigError(f"--rollout {percentage}: one stage up at a time - from "
                              f"{previous.effective}% the next stage is {step}% "
                              f"(stages: {', '.join(map(str, stages))}); --force jumps")
    return move


# -- soak ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Soak:
    """One time gate: what it waits for, since when, and how long is left."""

    name: str
    required: float              # seconds
    since: datetime | None       # None: the event it counts from never happened
    left: float                  # seconds; 0 when satisfied

    @property
    def ok(self) -> bool:
        return self.since is not None and self.left <= 0

    def describe(self) -> str:
        if self.since is None:
            return f"{self.name}: never happened in this environment's journal"
        if self.ok:
            return f"{self.name}: held {duration_text(self.required)} (since {self.since:%Y-%m-%d %H:%M:%S} UTC)"
        return (f"{self.name}: {duration_text(self.left)} left of {duration_text(self.required)} "
                f"(since {self.since:%Y-%m-%d %H:%M:%S} UTC)")

    def as_dict(self) -> dict:
        return {"name": self.name, "required_s": self.required, "left_s": round(max(self.left, 0), 1),
                "since": self.since.isoformat() if self.since else None, "ok": self.ok}


def soaks(move: Move, now: datetime, api_released: datetime | None, last_change: datetime | None,
          soak_after_api: float, stage_soak: float) -> list[Soak]:
    """The time gates a move must pass: none going down or staying; the phase-2 soak for the
    first step up; the stage soak (since the last change of the percentage) for later steps."""
    if move.direction != "up":
        return []
    if move.first_step:
        return [_soak("phase-2 soak (API release)", soak_after_api, api_released, now)]
    return [_soak(f"stage soak ({move.previous.effective}%)", stage_soak, last_change, now)]


def _soak(name: str, required: float, since: datetime | None, now: datetime) -> Soak:
    if since is None:
        return Soak(name, required, None, required)
    return Soak(name, required, since, max(0.0, required - (now - since).total_seconds()))


def duration_text(seconds: float) -> str:
    """3725 -> '1h 2m 5s'; 0 -> '0s'."""
    total = int(round(max(seconds, 0)))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    if total or not parts:
        parts.append(f"{total}s")
    return " ".join(parts)


# -- rollout.explain ----------------------------------------------------------------------------------
def explain(flag: str, user_id: str, stages: tuple[int, ...], percentage: int | None = None) -> dict:
    """Where a user falls, and whether they are in at each stage (and at `percentage`)."""
    point = bucket(flag, user_id)
    data = {"flag": flag, "user": user_id, "key": f"{flag}:{user_id}", "bucket": point,
            "first_stage_in": next((s for s in stages if point <= s), None),
            "stages": {str(s): point <= s for s in stages}}
    if percentage is not None:
        data.update(percentage=percentage, enabled=point <= percentage)
    return data

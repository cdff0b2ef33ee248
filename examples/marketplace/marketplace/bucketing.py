"""Sticky percentage rollout, Unleash's gradualRollout with userId stickiness.

The runbook's `Math.random() < 0.1` gives a user the feature on one page load and not the
next. Hashing "<flag>:<userId>" instead puts each user at a fixed point 1..100, so a user
seen at 10% stays in at 25%, 50% and 100%, and lowering the percentage removes the most
recently added users first. web/static/bucketing.js is the same function for the browser.
"""

from __future__ import annotations

import struct

_C1, _C2, _MASK = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, unsigned; equal to mmh3.hash(data, seed, signed=False)."""
    h = seed & _MASK
    length = len(data)
    nblocks = length // 4
    for (k,) in struct.iter_unpack("<I", data[: nblocks * 4]):
        k = _rotl((k * _C1) & _MASK, 15)
        h ^= (k * _C2) & _MASK
        h = (_rotl(h, 13) * 5 + 0xE6546B64) & _MASK
    tail = data[nblocks * 4:]
    k = 0
    if len(tail) == 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = _rotl((k * _C1) & _MASK, 15)
        h ^= (k * _C2) & _MASK
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def normalized_value(flag_name: str, user_id: object) -> int:
    """The user's fixed point on the 1..100 scale for this flag."""
    return murmur3_32(f"{flag_name}:{user_id}".encode("utf-8"), 0) % 100 + 1


def in_rollout(flag_name: str, user_id: object, percentage: int) -> bool:
    if user_id is None or str(user_id) == "":
        # Unleash's userId stickiness: no user, no gradual rollout.
        return False
    return normalized_value(flag_name, user_id) <= percentage


def feature_on(flag, user_id: object) -> bool:
    """flag is config.FlagSettings: the master switch first, then the user's bucket."""
    return bool(flag.enabled) and in_rollout(flag.name, user_id, flag.percentage)

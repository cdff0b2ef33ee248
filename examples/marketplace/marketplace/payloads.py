"""Validation of request bodies and path/query values, before any SQL runs."""

from __future__ import annotations

import json

MAX_COMMENT = 1000
MAX_ID = 2**31 - 1  # INT columns on every dialect


class BadInput(ValueError):
    pass


def parse_id(raw: str, what: str = "id") -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise BadInput(f"{what} must be a positive integer")
    return int(raw)


def parse_page(query: dict[str, str]) -> tuple[int, int]:
    try:
        limit = int(query.get("limit", "20"))
        offset = int(query.get("offset", "0"))
    except ValueError:
        raise BadInput("limit and offset must be integers") from None
    if not 1 <= limit <= 100 or offset < 0:
        raise BadInput("limit must be 1..100 and offset >= 0")
    return limit, offset


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInput("body must be JSON") from None
    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    return data


def _rating(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise BadInput("rating must be an integer from 1 to 5")
    return value


def _comment(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput("comment must be a string")
    value = value.strip()
    if len(value) > MAX_COMMENT:
        raise BadInput(f"comment must be at most {MAX_COMMENT} characters")
    return value or None


def new_rating(body: bytes) -> tuple[int, int, str | None]:
    data = _json_object(body)
    seller = data.get("sellerId")
    if isinstance(seller, str) and seller.isascii() and seller.isdigit():
        seller = int(seller)
    if isinstance(seller, bool) or not isinstance(seller, int) or not 0 < seller <= MAX_ID:
        raise BadInput("sellerId must be a positive integer")
    return seller, _rating(data.get("rating")), _comment(data.get("comment"))


def rating_changes(body: bytes) -> dict:
    data = _json_object(body)
    changes = {}
    if "rating" in data:
        changes["rating"] = _rating(data["rating"])
    if "comment" in data:
        changes["comment"] = _comment(data["comment"])
    if not changes:
        raise BadInput("give rating and/or comment")
    return changes

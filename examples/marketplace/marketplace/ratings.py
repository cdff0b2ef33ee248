"""The Seller Rating rules and their SQL: who may rate whom, and keeping Users in step.

Every write locks the seller's Users row first, then changes SellerRatings, then recomputes
that seller's aggregate columns from SellerRatings, all in one transaction. Recomputing
(rather than adding and subtracting) means the columns can never drift from the rows, which
is the invariant the pipeline's phase-4 verification checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .db import Session

POSITIVE_FROM = 4  # ratings of 4 and 5 count as positive

# Parameters: the seller id three times, then the Users row id.
RECOMPUTE_ONE = (
    'UPDATE "Users" SET '
    '"TotalRatings" = (SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = ?), '
    f'"PositiveRatings" = (SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = ? AND r."Rating" >= {POSITIVE_FROM}), '
    '"SellerRating" = (SELECT ROUND(AVG(CAST(r."Rating" AS DECIMAL(10,4))), 2) FROM "SellerRatings" r WHERE r."SellerId" = ?) '
    'WHERE "Id" = ?'
)

# The same rule for a range of users at once (sample data, repair); parameters: low, high id.
RECOMPUTE_RANGE = (
    'UPDATE "Users" SET '
    '"TotalRatings" = (SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = "Users"."Id"), '
    f'"PositiveRatings" = (SELECT COUNT(*) FROM "SellerRatings" r WHERE r."SellerId" = "Users"."Id" AND r."Rating" >= {POSITIVE_FROM}), '
    '"SellerRating" = (SELECT ROUND(AVG(CAST(r."Rating" AS DECIMAL(10,4))), 2) FROM "SellerRatings" r WHERE r."SellerId" = "Users"."Id") '
    'WHERE "Id" BETWEEN ? AND ?'
)

_RATING_COLUMNS = 'r."Id", r."SellerId", r."RaterId", u."FullName", r."Rating", r."Comment", r."CreatedAt", r."UpdatedAt"'


class RatingError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass(frozen=True)
class Eligibility:
    can_rate: bool
    reason: str
    existing_rating_id: int | None = None


def timestamp(value) -> str | None:
    """ISO 8601 UTC whatever the driver returned (SQLite text, pyodbc datetime)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    text = str(value).strip().replace(" ", "T")
    return text if text.endswith("Z") else text.split(".")[0] + "Z"


def _average(value) -> float | None:
    # SQLite gives a float, PostgreSQL and SQL Server a Decimal; JSON wants a number.
    return None if value is None else round(float(value), 2)


def _rating_json(row: tuple) -> dict:
    return {
        "id": row[0], "sellerId": row[1], "raterId": row[2], "raterName": row[3],
        "rating": row[4], "comment": row[5],
        "createdAt": timestamp(row[6]), "updatedAt": timestamp(row[7]),
    }


def seller_summary(s: Session, seller_id: int) -> dict | None:
    row = s.one('SELECT "Id", "FullName", "SellerRating", "TotalRatings", "PositiveRatings" '
                'FROM "Users" WHERE "Id" = ?', (seller_id,))
    if row is None:
        return None
    total, positive = int(row[3] or 0), int(row[4] or 0)
    return {
        "sellerId": row[0], "sellerName": row[1],
        "averageRating": _average(row[2]), "totalRatings": total, "positiveRatings": positive,
        "positivePercentage": round(positive * 100.0 / total, 1) if total else None,
    }


def list_ratings(s: Session, seller_id: int, limit: int, offset: int) -> list[dict]:
    page_sql, page_params = s.dialect.page(limit, offset)
    rows = s.all(
        f'SELECT {_RATING_COLUMNS} FROM "SellerRatings" r JOIN "Users" u ON u."Id" = r."RaterId" '
        f'WHERE r."SellerId" = ? ORDER BY r."CreatedAt" DESC, r."Id" DESC{page_sql}',
        (seller_id, *page_params),
    )
    return [_rating_json(r) for r in rows]


def get_rating(s: Session, rating_id: int) -> dict | None:
    row = s.one(f'SELECT {_RATING_COLUMNS} FROM "SellerRatings" r JOIN "Users" u ON u."Id" = r."RaterId" '
                'WHERE r."Id" = ?', (rating_id,))
    return _rating_json(row) if row else None


def eligibility(s: Session, rater_id: int, seller_id: int) -> Eligibility:
    if s.scalar('SELECT "Id" FROM "Users" WHERE "Id" = ?', (seller_id,)) is None:
        return Eligibility(False, "seller-not-found")
    if rater_id == seller_id:
        return Eligibility(False, "cannot-rate-self")
    if s.scalar('SELECT "Id" FROM "Users" WHERE "Id" = ?', (rater_id,)) is None:
        return Eligibility(False, "rater-not-found")
    existing = s.scalar('SELECT "Id" FROM "SellerRatings" WHERE "SellerId" = ? AND "RaterId" = ?',
                        (seller_id, rater_id))
    if existing is not None:
        return Eligibility(False, "already-rated", int(existing))
    has_order = s.scalar('SELECT COUNT(*) FROM "Orders" WHERE "BuyerId" = ? AND "SellerId" = ? '
                         "AND \"Status\" = 'completed'", (rater_id, seller_id))
    if not has_order:
        return Eligibility(False, "no-completed-order")
    return Eligibility(True, "eligible")


_REFUSAL = {
    "seller-not-found": (404, "no such seller"),
    "cannot-rate-self": (403, "you cannot rate yourself"),
    "rater-not-found": (403, "the token's user does not exist"),
    "already-rated": (409, "you have already rated this seller"),
    "no-completed-order": (403, "you need a completed order with this seller first"),
}


def _lock_seller(s: Session, seller_id: int) -> None:
    s.one(s.dialect.lock_row("Users"), (seller_id,))


def recompute(s: Session, seller_id: int) -> dict:
    s.execute(RECOMPUTE_ONE, (seller_id, seller_id, seller_id, seller_id))
    return seller_summary(s, seller_id) or {}


def create(s: Session, rater_id: int, seller_id: int, rating: int, comment: str | None) -> tuple[dict, dict]:
    _lock_seller(s, seller_id)
    check = eligibility(s, rater_id, seller_id)
    if not check.can_rate:
        status, message = _REFUSAL[check.reason]
        extra = {"ratingId": check.existing_rating_id} if check.existing_rating_id else {}
        raise RatingError(status, check.reason, message, **extra)
    now = s.dialect.utc_now
    sql = s.dialect.insert_returning_id(
        "SellerRatings", ["SellerId", "RaterId", "Rating", "Comment", "CreatedAt", "UpdatedAt"],
        f"?, ?, ?, ?, {now}, {now}")
    new_id = s.scalar(sql, (seller_id, rater_id, rating, comment))
    return get_rating(s, int(new_id)), recompute(s, seller_id)


def _own_rating(s: Session, rater_id: int, rating_id: int) -> dict:
    current = get_rating(s, rating_id)
    if current is None:
        raise RatingError(404, "rating-not-found", "no such rating")
    if current["raterId"] != rater_id:
        raise RatingError(403, "not-owner", "you can only change your own ratings")
    return current


def update(s: Session, rater_id: int, rating_id: int, changes: dict) -> tuple[dict, dict]:
    seller_id = _own_rating(s, rater_id, rating_id)["sellerId"]
    _lock_seller(s, seller_id)
    _own_rating(s, rater_id, rating_id)  # again under the lock: it may have gone meanwhile
    sets, params = [], []
    for column, key in (("Rating", "rating"), ("Comment", "comment")):
        if key in changes:
            sets.append(f'"{column}" = ?')
            params.append(changes[key])
    sets.append(f'"UpdatedAt" = {s.dialect.utc_now}')
    s.execute(f'UPDATE "SellerRatings" SET {", ".join(sets)} WHERE "Id" = ?', (*params, rating_id))
    return get_rating(s, rating_id), recompute(s, seller_id)


def delete(s: Session, rater_id: int, rating_id: int) -> dict:
    seller_id = _own_rating(s, rater_id, rating_id)["sellerId"]
    _lock_seller(s, seller_id)
    _own_rating(s, rater_id, rating_id)
    s.execute('DELETE FROM "SellerRatings" WHERE "Id" = ?', (rating_id,))
    return recompute(s, seller_id)

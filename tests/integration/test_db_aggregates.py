"""Backfill and the set-based discrepancy check on real SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deploy.db import aggregates
from deploy.db.connect import connect

pytestmark = pytest.mark.integration

RATINGS = [  # (seller, rater, rating)
    (1, 2, 5), (1, 3, 4), (1, 4, 3),
    (2, 1, 2), (2, 3, 5),
    (3, 1, 4),
]


def seed(db):
    for i in range(1, 6):
        db.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (?, ?)', (f"User {i}", f"u{i}@example.com"))
    for seller, rater, rating in RATINGS:
        db.execute('INSERT INTO "SellerRatings" ("SellerId", "RaterId", "Rating") VALUES (?, ?, ?)',
                   (seller, rater, rating))


def test_backfill_then_no_discrepancies_and_a_planted_one_is_found(migrated_target):
    config, root = migrated_target
    with connect(config, root) as db:
        seed(db)
        before = aggregates.discrepancies(db)
        assert {d.seller_id for d in before} == {1, 2, 3}      # stored 0 although ratings exist
        assert aggregates.backfill(db) == 3
        assert aggregates.backfill(db) == 0                     # idempotent: nothing left to change
        assert aggregates.discrepancies(db) == []
        assert aggregates.count_ratings(db) == 6

        top = aggregates.top_sellers(db, n=2)
        assert [(t.id, t.total_ratings, t.seller_rating) for t in top] == [(1, 3, Decimal("4.00")),
                                                                             (3, 1, Decimal("4.00"))]
        assert len(aggregates.top_sellers(db)) == 3

        db.execute('UPDATE "Users" SET "PositiveRatings" = 7 WHERE "Id" = 2')
        db.execute('UPDATE "Users" SET "SellerRating" = 1.5 WHERE "Id" = 3')
        found = aggregates.discrepancies(db)
        assert [d.seller_id for d in found] == [2, 3]
        two = found[0]
        assert (two.seller_name, two.stored_total, two.actual_total, two.stored_positive,
                two.actual_positive) == ("User 2", 2, 2, 7, 1)
        assert (found[1].stored_average, found[1].actual_average) == (Decimal("1.50"), Decimal("4.00"))
        assert aggregates.backfill(db) == 2
        assert aggregates.discrepancies(db) == []

"""Every monitoring query on SQLite and PostgreSQL against DATASET, with answers worked out by hand."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from deploy.db.connect import connect
from deploy.monitoring import periods, queries
from tests.integration.test_monitor_support import RATINGS, add_rating, add_users, at_age, seed

D = Decimal


@pytest.fixture
def seeded(migrated_target):
    config, root = migrated_target
    now = datetime.now(timezone.utc)
    db = connect(config, root)
    seed(db, now)
    try:
        yield db, now
    finally:
        db.close()


def test_ratings_per_day_fills_every_day(seeded):
    db, now = seeded
    rows = queries.ratings_per_day(db, now.date(), 7)
    assert [r.day for r in rows] == periods.day_window(now.date(), 7)
    assert [r.ratings for r in rows] == [0, 0, 0, 1, 2, 2, 2]
    assert sum(r.ratings for r in queries.ratings_per_day(db, now.date(), 30)) == 8       # 40 and 200 days: out
    assert sum(r.ratings for r in queries.ratings_per_day(db, now.date(), 41)) == 9


def test_distribution_with_percentages(seeded):
    db, now = seeded
    everything = queries.distribution(db)
    assert [(s.rating, s.ratings, s.percentage) for s in everything] == [
        (5, 4, D("40.00")), (4, 3, D("30.00")), (3, 1, D("10.00")), (2, 1, D("10.00")), (1, 1, D("10.00"))]
    assert queries.average_rating(everything) == (D("3.80"), 10)
    last_30 = queries.distribution(db, periods.days_since(now.date(), 30))
    assert [(s.rating, s.ratings, s.percentage) for s in last_30] == [
        (5, 3, D("37.50")), (4, 3, D("37.50")), (3, 1, D("12.50")), (2, 1, D("12.50")), (1, 0, D("0.00"))]
    assert queries.average_rating(last_30) == (D("4.00"), 8)


def test_top_rated_sellers_need_three_ratings(seeded):
    db, _ = seeded
    top = queries.top_rated_sellers(db, 3, 10)
    assert [(t.seller_id, t.seller_name, t.seller_rating, t.total_ratings, t.positive_ratings) for t in top] == [
        (1, "User 1", D("4.50"), 4, 4), (2, "User 2", D("2.00"), 3, 0)]
    # with one rating enough: seller 4 (5.00 from 1) leads; 1 and 3 tie at 4.50, more ratings first
    assert [t.seller_id for t in queries.top_rated_sellers(db, 1, 3)] == [4, 1, 3]
    assert [t.seller_id for t in queries.top_rated_sellers(db, 1, 1)] == [4]


def test_weekly_activity_by_iso_week(seeded):
    db, now = seeded
    weeks = queries.weekly_activity(db, now.date(), 10)
    expected: dict = defaultdict(list)
    for _, _, rating, age in RATINGS:
        day = at_age(now, age).date()
        if day >= periods.week_window(now.date(), 10)[0]:
            expected[periods.week_start(day)].append(rating)
    assert [w.week_start for w in weeks] == periods.week_window(now.date(), 10)
    for w in weeks:
        ratings = expected.get(w.week_start, [])
        assert w.ratings == len(ratings), w
        assert w.average_rating == (D(sum(ratings)) / len(ratings)).quantize(D("0.01")) if ratings else \
            w.average_rating is None
    assert sum(w.ratings for w in weeks) == 9


def test_participation_all_time_and_windowed(seeded):
    db, now = seeded
    p = queries.participation(db)
    assert (p.users_who_rated, p.total_users, p.participation_rate) == (9, 20, D("45.00"))
    assert (p.buyers_with_completed_orders, p.buyers_who_rated, p.buyer_participation_rate) == (11, 8, D("72.73"))
    p30 = queries.participation(db, periods.days_since(now.date(), 30))
    assert (p30.users_who_rated, p30.participation_rate) == (7, D("35.00"))
    assert (p30.buyers_with_completed_orders, p30.buyers_who_rated, p30.buyer_participation_rate) == (10, 7, D("70.00"))
    p90 = queries.participation(db, periods.days_since(now.date(), 90))
    assert (p90.buyers_with_completed_orders, p90.buyers_who_rated, p90.buyer_participation_rate) == (10, 8, D("80.00"))


def test_participation_without_users_or_orders_is_not_a_division_by_zero(migrated_target):
    config, root = migrated_target
    with connect(config, root) as db:
        p = queries.participation(db)
    assert (p.total_users, p.participation_rate, p.buyer_participation_rate) == (0, None, None)


def test_seller_coverage(seeded):
    db, now = seeded
    c = queries.seller_coverage(db, periods.days_since(now.date(), 30), 3)
    assert (c.active_sellers, c.sellers_with_min_ratings, c.coverage) == (3, 2, D("66.67"))
    c = queries.seller_coverage(db, periods.ALL_TIME, 1)          # seller 4: an old order, one old rating
    assert (c.active_sellers, c.sellers_with_min_ratings, c.coverage) == (4, 4, D("100.00"))


def test_ratings_per_rolling_hour(migrated_target):
    config, root = migrated_target
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with connect(config, root) as db:
        add_users(db, 12)
        ages = [10, 20, 50, 70, 100, 5 * 60 + 5, 30 * 60, -5]       # minutes ago (-5: in the future)
        for i, minutes in enumerate(ages):
            add_rating(db, 1, i + 2, 4, now - timedelta(minutes=minutes), i)
        assert queries.ratings_per_hour(db, now, 25) == [3, 2, 0, 0, 0, 1] + [0] * 19

"""Deterministic sample data for demos, tests and the benchmark:

    python3 -m marketplace.sample --database-url URL --users N --orders M \\
        [--ratings K] [--sellers S] [--seed S] [--create-schema]

Users get explicit Ids after the current maximum, so a run adds to what is there. The first
S new users are the sellers; orders pair random buyers with random sellers. Ratings need the
SellerRatings migration; each (seller, rater) pair appears at most once, nobody rates
themselves, and the Users aggregate columns are then recomputed from the rows, so they are
consistent by construction. Sample ratings do not require a matching completed order.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import bulk, dburl, envfile
from .db import Database, Unreachable, create_sqlite_file
from .ratings import RECOMPUTE_RANGE

FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jon", "Kira", "Luis",
         "Maya", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Viktor", "Wen", "Yara")
LAST = ("Adams", "Berg", "Chen", "Diaz", "Eze", "Fischer", "Garcia", "Hale", "Ito", "Jones", "Khan",
        "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber", "Young")
STATUSES, STATUS_WEIGHTS = ("completed", "pending", "cancelled"), (80, 15, 5)
STARS, STAR_WEIGHTS = (1, 2, 3, 4, 5), (5, 5, 10, 30, 50)
COMMENTS = (None, None, "Great seller", "Fast shipping", "As described", "Would buy again",
            "Slow to answer", "Item arrived damaged", "Friendly and helpful")
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


class SampleError(Exception):
    pass


class _Moments(Sequence):
    """One timestamp per minute of the last `days` days, newest first, made when first picked:
    a small sample picks a few hundred of them, and building all 259,200 of a 180-day span up
    front cost most of such a run's CPU. Each is made once (a million orders format no more
    than the span holds). rng.choice picks from it exactly as from a list, so a seed gives the
    same rows as before."""

    def __init__(self, db: Database, now: datetime, days: int):
        self._now, self._len, self._cache = now, days * 24 * 60, {}
        # sqlite3 stores text in CURRENT_TIMESTAMP's format; pyodbc binds datetime natively.
        self._text = db.dialect.name == "sqlite"

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int):
        moment = self._cache.get(index)
        if moment is None:
            if not 0 <= index < self._len:
                raise IndexError(index)
            moment = self._now - timedelta(minutes=index)
            if self._text:
                moment = moment.strftime("%Y-%m-%d %H:%M:%S")
            self._cache[index] = moment
        return moment


def create_schema(db: Database) -> None:
    db.run_script((SCHEMA_DIR / f"{db.dialect.name}.sql").read_text(encoding="utf-8"))


def seller_rating_counts(rng: random.Random, sellers: int, ratings: int, cap: int) -> list[int]:
    """Spread `ratings` over sellers unevenly (as real ones are), none above `cap`."""
    counts = [0] * sellers
    for index in rng.choices(range(sellers), k=ratings):
        counts[index] += 1
    overflow = 0
    for i in range(sellers):
        if counts[i] > cap:
            overflow += counts[i] - cap
            counts[i] = cap
    for i in range(sellers):
        if not overflow:
            break
        room = min(cap - counts[i], overflow)
        counts[i] += room
        overflow -= room
    return counts


def generate(args, db: Database, first_id: int):
    rng = random.Random(args.seed)
    user_ids = range(first_id, first_id + args.users)
    now = datetime.now(timezone.utc).replace(tzinfo=None, second=0, microsecond=0)
    order_times = _Moments(db, now, 180)
    rating_times = _Moments(db, now, 90)

    def users():
        for uid in user_ids:
            yield uid, f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"user{uid}@example.test"

    def orders():
        for _ in range(args.orders):
            seller = first_id + rng.randrange(args.sellers)
            buyer = first_id + rng.randrange(args.users)
            if buyer == seller:
                buyer = first_id + (buyer - first_id + 1) % args.users
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            yield buyer, seller, status, rng.choice(order_times)

    def ratings():
        counts = seller_rating_counts(rng, args.sellers, args.ratings, args.users - 1)
        for index, count in enumerate(counts):
            seller = first_id + index
            for pick in rng.sample(range(args.users - 1), count):
                rater = first_id + (pick if pick < index else pick + 1)  # skip the seller
                when = rng.choice(rating_times)
                yield seller, rater, rng.choices(STARS, STAR_WEIGHTS)[0], rng.choice(COMMENTS), when, when

    return users(), orders(), ratings()


def run(args) -> str:
    target = dburl.parse(args.database_url)
    if target.dialect == "sqlite" and args.create_schema and not Path(target.sqlite_path).exists():
        create_sqlite_file(target.sqlite_path)
    db = Database(target, pool_size=1)
    started = time.perf_counter()
    if args.create_schema:
        create_schema(db)
    if args.ratings and not db.ratings_ready(refresh=True):
        raise SampleError("--ratings needs the SellerRatings migration, which this database lacks")
    if args.ratings > args.sellers * max(0, args.users - 1):
        raise SampleError("--ratings exceeds sellers x (users - 1) distinct pairs")
    with db.session() as s:
        first_id = int(s.scalar('SELECT COALESCE(MAX("Id"), 0) FROM "Users"')) + 1
    users, orders, ratings = generate(args, db, first_id)
    b = args.batch_size
    n_users = bulk.insert_rows(db, "Users", ("Id", "FullName", "Email"), users, b, identity_insert=True)
    bulk.sync_identity(db, "Users")
    n_orders = bulk.insert_rows(db, "Orders", ("BuyerId", "SellerId", "Status", "CreatedAt"), orders, b)
    n_ratings = 0
    if args.ratings:
        n_ratings = bulk.insert_rows(db, "SellerRatings", ("SellerId", "RaterId", "Rating", "Comment",
                                                           "CreatedAt", "UpdatedAt"), ratings, b)
        for low in range(first_id, first_id + args.sellers, b):
            with db.session(write=True) as s:
                s.execute(RECOMPUTE_RANGE, (low, min(low + b - 1, first_id + args.sellers - 1)))
    db.close()
    elapsed = time.perf_counter() - started
    return (f"sample: dialect={target.dialect} users={n_users} (ids {first_id}..{first_id + n_users - 1}) "
            f"sellers={args.sellers} orders={n_orders} ratings={n_ratings} seed={args.seed} in {elapsed:.1f}s")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m marketplace.sample", description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="sqlite:///path or ODBC string (default: DATABASE_URL)")
    p.add_argument("--env-file", help="read DATABASE_URL from this env file")
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--orders", type=int, default=0)
    p.add_argument("--ratings", type=int, default=0)
    p.add_argument("--sellers", type=int, help="how many of the new users sell (default: half, at least 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=20000, help="rows per transaction")
    p.add_argument("--create-schema", action="store_true", help="create the base schema (Users, Orders) first")
    args = p.parse_args(argv)
    if args.users < 1 or args.orders < 0 or args.ratings < 0 or args.batch_size < 1:
        p.error("--users must be >= 1; --orders, --ratings >= 0; --batch-size >= 1")
    if args.orders and args.users < 2:
        p.error("--orders needs at least 2 users")
    args.sellers = args.sellers or max(1, args.users // 2)
    if not 1 <= args.sellers <= args.users:
        p.error("--sellers must be 1..--users")
    if not args.database_url:
        args.database_url = envfile.load(args.env_file).get("DATABASE_URL", "")
    if not args.database_url:
        p.error("--database-url (or DATABASE_URL) is required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        print(run(args))
    except (dburl.DatabaseUrlError, SampleError, envfile.EnvFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Unreachable as exc:
        print(f"error: database unreachable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

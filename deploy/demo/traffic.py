"""Real users, bounded: buyers with completed orders rate their sellers through the API.

Used by the demo (so phase 4 has ratings made by the app itself) and by tests. Bounded in count
and in time, and aimed only at the configured hosts' addresses.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from deploy.db.connect import Database
from deploy.secrets import Secret, reveal

COMPLETED_PAIRS = {
    "sqlite": 'SELECT DISTINCT "BuyerId", "SellerId" FROM "Orders" WHERE "Status" = \'completed\' '
              'AND "BuyerId" <> "SellerId" ORDER BY 1, 2 LIMIT ?',
    "postgres": 'SELECT DISTINCT "BuyerId", "SellerId" FROM "Orders" WHERE "Status" = \'completed\' '
                'AND "BuyerId" <> "SellerId" ORDER BY 1, 2 LIMIT ?',
    "mssql": "SELECT DISTINCT TOP (?) BuyerId, SellerId FROM Orders WHERE Status = 'completed' "
             "AND BuyerId <> SellerId ORDER BY 1, 2",
}


def token(secret: Secret | str, user_id: int, ttl: int = 600) -> str:
    import jwt  # here, not at the top: it loads cryptography (0.1-0.2 s), needed only to mint

    now = int(time.time())
    return jwt.encode({"sub": str(user_id), "iat": now, "exp": now + ttl}, reveal(secret), algorithm="HS256")


def buyer_seller_pairs(db: Database, limit: int) -> list[tuple[int, int]]:
    return [(int(b), int(s)) for b, s in db.query(COMPLETED_PAIRS[db.dialect], (limit,))]


@dataclass
class TrafficReport:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)   # every answer, by HTTP status
    ratings_created: int = 0
    seconds: float = 0.0
    pairs_asked: int = 0                                  # (buyer, seller) pairs asked before the deadline
    can_rate: Counter = field(default_factory=Counter)   # GET can-rate answers, by HTTP status
    refusals: Counter = field(default_factory=Counter)   # can-rate's `reason` when canRate was false
    create: Counter = field(default_factory=Counter)     # POST /ratings answers, by HTTP status


def rate_sellers(base_url: str, secret: Secret | str, pairs: list[tuple[int, int]],
                 deadline: float = 60.0, timeout: float = 5.0) -> TrafficReport:
    """For each (buyer, seller): ask can-rate, then rate 1..5; stop at the deadline."""
    import requests  # here, not at the top: loaded when traffic is sent, not by every importer

    report = TrafficReport()
    started = time.monotonic()
    with requests.Session() as http:
        for index, (buyer, seller) in enumerate(pairs):
            if time.monotonic() - started > deadline:
                break
            auth = {"Authorization": f"Bearer {token(secret, buyer)}"}
            check = http.get(f"{base_url}/api/v1/ratings/can-rate/{seller}", headers=auth, timeout=timeout)
            report.pairs_asked += 1
            report.requests += 1
            report.statuses[check.status_code] += 1
            report.can_rate[check.status_code] += 1
            if check.status_code != 200:
                continue
            answer = check.json()
            if not answer.get("canRate"):
                report.refusals[str(answer.get("reason"))] += 1
                continue
            rating = 1 + (buyer * 7 + seller * 3) % 5          # deterministic spread over 1..5
            made = http.post(f"{base_url}/api/v1/ratings", headers=auth, timeout=timeout,
                             json={"sellerId": seller, "rating": rating,
                                   "comment": f"demo rating {index + 1}"})
            report.requests += 1
            report.statuses[made.status_code] += 1
            report.create[made.status_code] += 1
            if made.status_code == 201:
                report.ratings_created += 1
    report.seconds = time.monotonic() - started
    return report

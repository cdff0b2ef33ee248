"""Sample data: deterministic, consistent, and refusing ratings before the migration."""

from __future__ import annotations

import random
import sqlite3
import tempfile
import unittest

from marketplace.sample import seller_rating_counts
from tests import support


# Every column but CreatedAt, which is relative to the time of the run.
COLUMNS = {
    "Users": '"Id", "FullName", "Email", "SellerRating", "TotalRatings", "PositiveRatings"',
    "Orders": '"Id", "BuyerId", "SellerId", "Status"',
    "SellerRatings": '"Id", "SellerId", "RaterId", "Rating", "Comment"',
}


def dump(path: str, table: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    rows = conn.execute(f'SELECT {COLUMNS[table]} FROM "{table}" ORDER BY "Id"').fetchall()
    conn.close()
    return rows


class SampleTest(unittest.TestCase):
    def sample(self, url: str, *args: str):
        return support.run_module("marketplace.sample", "--database-url", url, *args)

    def test_base_schema_then_ratings(self):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/s.db"
            first = self.sample(url, "--users", "200", "--orders", "500", "--create-schema", "--seed", "4")
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertEqual(len(first.stdout.strip().splitlines()), 1)
            self.assertIn("users=200", first.stdout)
            refused = self.sample(url, "--users", "10", "--ratings", "5")
            self.assertEqual(refused.returncode, 2)
            self.assertIn("SellerRatings", refused.stderr)
            support.migrate_sqlite(f"{tmp}/s.db")
            second = self.sample(url, "--users", "100", "--orders", "50", "--ratings", "1500", "--sellers", "20",
                                 "--batch-size", "333")
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertIn("ids 201..300", second.stdout)
            conn = sqlite3.connect(f"{tmp}/s.db")
            counts = conn.execute('SELECT COUNT(*), COUNT(DISTINCT "SellerId" || \'-\' || "RaterId"), '
                                  'SUM("SellerId" = "RaterId"), MIN("SellerId"), MAX("SellerId") '
                                  'FROM "SellerRatings"').fetchone()
            statuses = {row[0] for row in conn.execute('SELECT DISTINCT "Status" FROM "Orders"')}
            self_orders = conn.execute('SELECT COUNT(*) FROM "Orders" WHERE "BuyerId" = "SellerId"').fetchone()[0]
            conn.close()
            self.assertEqual(counts, (1500, 1500, 0, 201, 220))
            self.assertEqual(statuses, {"completed", "pending", "cancelled"})
            self.assertEqual(self_orders, 0)
            self.assertEqual(support.sqlite_aggregates_consistent(f"{tmp}/s.db"), [])
            # The app can insert after the explicit ids.
            conn = sqlite3.connect(f"{tmp}/s.db")
            conn.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (\'New\', \'new@example.test\')')
            self.assertEqual(conn.execute('SELECT MAX("Id") FROM "Users"').fetchone()[0], 301)
            conn.close()

    def test_same_seed_same_rows(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("a", "b"):
                support.sqlite_db(tmp, name=f"{name}.db")
                result = self.sample(f"sqlite:///{tmp}/{name}.db", "--users", "50", "--orders", "80",
                                     "--ratings", "300", "--seed", "9")
                self.assertEqual(result.returncode, 0, result.stderr)
            for table in COLUMNS:
                a = dump(f"{tmp}/a.db", table)
                self.assertTrue(a, table)
                self.assertEqual(a, dump(f"{tmp}/b.db", table), table)

    def test_bad_arguments(self):
        self.assertEqual(self.sample("sqlite:///tmp/x.db", "--users", "0").returncode, 2)
        too_many = self.sample("sqlite:///tmp/does-not-matter.db", "--users", "3", "--sellers", "1", "--ratings", "5")
        self.assertNotEqual(too_many.returncode, 0)

    def test_rating_spread_respects_cap(self):
        counts = seller_rating_counts(random.Random(1), 10, 95, 10)
        self.assertEqual(sum(counts), 95)
        self.assertTrue(all(c <= 10 for c in counts))


if __name__ == "__main__":
    unittest.main()

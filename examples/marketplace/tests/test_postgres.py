"""The same app against PostgreSQL through pyodbc: schema file, sample data, API rules."""

from __future__ import annotations

import threading
import unittest

from marketplace import dburl
from marketplace.db import Database
from tests import support
from tests.pgserver import PostgresServer

MIGRATION = (support.SQL_DIR / "migration_postgres.sql").read_text()


class PostgresAppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PostgresServer()
        try:
            cls.url = cls.pg.create_database("marketplace")
            result = support.run_module("marketplace.sample", "--database-url", cls.url, "--users", "40",
                                        "--orders", "300", "--seed", "5", "--create-schema")
            assert result.returncode == 0, result.stderr
            cls.db = Database(dburl.parse(cls.url))
            cls.api = support.AppProcess("api", {"DATABASE_URL": cls.url, "JWT_SECRET": support.SECRET,
                                                 "RATE_LIMIT_MAX_REQUESTS": "100000"})
        except BaseException:
            cls.pg.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()
        cls.db.close()
        cls.pg.stop()

    def scalar(self, sql, params=()):
        with self.db.session() as s:
            return s.scalar(sql, params)

    def completed_pair(self, skip=()):
        with self.db.session() as s:
            rows = s.all('SELECT DISTINCT "BuyerId", "SellerId" FROM "Orders" WHERE "Status" = \'completed\' '
                         'ORDER BY "BuyerId", "SellerId"')
        return [r for r in rows if r not in skip]

    def inconsistent(self) -> int:
        return self.scalar(
            'SELECT COUNT(*) FROM "Users" u WHERE u."TotalRatings" <> (SELECT COUNT(*) FROM "SellerRatings" r '
            'WHERE r."SellerId" = u."Id") OR u."PositiveRatings" <> (SELECT COUNT(*) FROM "SellerRatings" r '
            'WHERE r."SellerId" = u."Id" AND r."Rating" >= 4) OR COALESCE(u."SellerRating", -1) <> '
            'COALESCE((SELECT ROUND(AVG(r."Rating"), 2) FROM "SellerRatings" r WHERE r."SellerId" = u."Id"), -1)')

    def test_1_before_migration(self):
        health = self.api.get("/health")
        self.assertEqual((health.status, health.json()["database"]), (200, "schema-missing"))
        self.assertEqual(self.api.get("/api/v1/ratings/seller/1", user=2).status, 503)

    def test_2_after_migration(self):
        self.db.run_script(MIGRATION)
        self.assertEqual(self.api.get("/health").json()["database"], "ok")
        (buyer, seller), (buyer2, seller2) = self.completed_pair()[:2]
        created = self.api.call("POST", "/api/v1/ratings", user=buyer, body={"sellerId": seller, "rating": 5, "comment": "ünïcødé ok"})
        self.assertEqual(created.status, 201, created.text)
        rating_id = created.json()["rating"]["id"]
        self.assertEqual(created.json()["rating"]["comment"], "ünïcødé ok")
        self.assertEqual(self.api.call("POST", "/api/v1/ratings", user=buyer, body={"sellerId": seller, "rating": 1}).status, 409)
        self.assertEqual(self.api.call("POST", "/api/v1/ratings", user=seller, body={"sellerId": seller, "rating": 1}).status, 403)
        listing = self.api.get(f"/api/v1/ratings/seller/{seller}?limit=5", user=buyer2)
        self.assertEqual(listing.status, 200)
        self.assertEqual(listing.json()["seller"]["averageRating"], 5.0)
        self.assertTrue(listing.json()["ratings"][0]["createdAt"].endswith("Z"))
        edited = self.api.call("PUT", f"/api/v1/ratings/{rating_id}", user=buyer, body={"rating": 2})
        self.assertEqual(edited.json()["seller"]["positiveRatings"], 0)
        self.assertEqual(self.api.get(f"/api/v1/ratings/can-rate/{seller}", user=buyer).json()["reason"], "already-rated")
        self.assertEqual(self.api.call("DELETE", f"/api/v1/ratings/{rating_id}", user=buyer).status, 200)
        self.assertEqual(self.inconsistent(), 0)

    def test_3_concurrent_creates_on_one_seller(self):
        seller = self.completed_pair()[0][1]
        with self.db.session(write=True) as s:
            base = s.scalar('SELECT MAX("Id") FROM "Users"')
            for i in range(1, 13):
                s.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (?, ?)', (f"Rater {i}", f"rater{i}@pg.test"))
            raters = [r[0] for r in s.all('SELECT "Id" FROM "Users" WHERE "Id" > ?', (base,))]
            for rater in raters:
                s.execute('INSERT INTO "Orders" ("BuyerId", "SellerId", "Status") VALUES (?, ?, \'completed\')', (rater, seller))
        statuses = []
        threads = [threading.Thread(target=lambda r=r: statuses.append(self.api.call(
            "POST", "/api/v1/ratings", user=r, body={"sellerId": seller, "rating": 1 + r % 5}).status)) for r in raters]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [201] * len(raters))
        self.assertEqual(self.inconsistent(), 0)

    def test_4_sample_ratings(self):
        result = support.run_module("marketplace.sample", "--database-url", self.url, "--users", "60",
                                    "--orders", "100", "--ratings", "900", "--sellers", "20", "--batch-size", "250")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("ratings=900", result.stdout)
        self.assertEqual(self.inconsistent(), 0)
        # Identity moved past the explicit ids: the app's own inserts still work.
        with self.db.session(write=True) as s:
            s.execute('INSERT INTO "Users" ("FullName", "Email") VALUES (\'After\', \'after@pg.test\')')

    def test_5_survives_database_restart(self):
        self.assertEqual(self.api.get("/health").json()["database"], "ok")
        self.pg.restart()
        # The pooled connection died with the server; health retries on a fresh one.
        health = self.api.get("/health")
        self.assertEqual((health.status, health.json()["database"]), (200, "ok"))


if __name__ == "__main__":
    unittest.main()

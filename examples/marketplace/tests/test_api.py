"""The API as a real process against a real SQLite database."""

from __future__ import annotations

import re
import sqlite3
import tempfile
import threading
import time
import unittest

import jwt

from tests import support

SELLER = "/api/v1/ratings/seller/{}"
CAN_RATE = "/api/v1/ratings/can-rate/{}"


class MigratedApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = support.sqlite_db(cls.tmp.name)
        support.seed_marketplace(cls.db)
        cls.api = support.AppProcess("api", {
            "DATABASE_URL": f"sqlite:///{cls.db}", "JWT_SECRET": support.SECRET,
            "RATE_LIMIT_MAX_REQUESTS": "100000", "RATE_LIMIT_WINDOW_MS": "60000",
            "ENABLE_RATING_FEATURE": "true", "RATING_ROLLOUT_PERCENTAGE": "25",
        }, extra_environ={"APP_VERSION": "7.7.7"})

    @classmethod
    def tearDownClass(cls):
        cls.api.cleanup()
        cls.tmp.cleanup()

    def setUp(self):
        conn = sqlite3.connect(self.db)
        conn.execute('DELETE FROM "SellerRatings"')
        conn.execute('UPDATE "Users" SET "TotalRatings" = 0, "PositiveRatings" = 0, "SellerRating" = NULL')
        conn.commit()
        conn.close()

    def rate(self, rater, seller, value, comment=None):
        return self.api.call("POST", "/api/v1/ratings", user=rater,
                             body={"sellerId": seller, "rating": value, "comment": comment})

    def assertConsistent(self):
        self.assertEqual(support.sqlite_aggregates_consistent(self.db), [])

    def test_health_shape(self):
        res = self.api.get("/health")
        self.assertEqual(res.status, 200)
        body = res.json()
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["app"], "api")
        self.assertEqual(body["version"], "7.7.7")
        self.assertEqual(body["database"], "ok")
        self.assertEqual(body["flag"], {"enabled": True, "percentage": 25, "name": "rating"})

    def test_head_health_has_no_body(self):
        res = self.api.call("HEAD", "/health")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.body, b"")

    def test_unauthenticated_requests_get_401(self):
        for path in (SELLER.format(1), CAN_RATE.format(1)):
            self.assertEqual(self.api.get(path).status, 401, path)
        self.assertEqual(self.api.call("POST", "/api/v1/ratings", body={"sellerId": 1, "rating": 5}).status, 401)
        self.assertEqual(self.api.call("DELETE", "/api/v1/ratings/1").status, 401)
        self.assertEqual(self.api.call("PUT", "/api/v1/ratings/1", body={"rating": 2}).status, 401)

    def test_bad_tokens_get_401(self):
        now = int(time.time())
        bad = {
            "wrong secret": jwt.encode({"sub": "2"}, "another-secret-of-enough-length-000000", algorithm="HS256"),
            "expired": jwt.encode({"sub": "2", "exp": now - 60}, support.SECRET, algorithm="HS256"),
            "no sub": jwt.encode({"exp": now + 60}, support.SECRET, algorithm="HS256"),
            "alg none": jwt.encode({"sub": "2"}, None, algorithm="none"),
            "garbage": "not.a.token",
        }
        for name, value in bad.items():
            res = self.api.get(SELLER.format(1), headers={"Authorization": f"Bearer {value}"})
            self.assertEqual(res.status, 401, name)
            self.assertEqual(res.json()["error"], "unauthorized")
        basic = self.api.get(SELLER.format(1), headers={"Authorization": "Basic dTpw"})
        self.assertEqual(basic.status, 401)

    def test_numeric_sub_is_accepted(self):
        value = jwt.encode({"sub": 2, "exp": int(time.time()) + 60}, support.SECRET, algorithm="HS256")
        res = self.api.get(SELLER.format(1), headers={"Authorization": f"Bearer {value}"})
        self.assertEqual(res.status, 200)

    def test_seller_ratings_list_and_aggregate(self):
        res = self.api.get(SELLER.format(1), user=2)
        self.assertEqual(res.status, 200)
        body = res.json()
        self.assertEqual(body["seller"]["totalRatings"], 0)
        self.assertIsNone(body["seller"]["averageRating"])
        self.assertEqual(body["ratings"], [])
        self.assertEqual(self.rate(2, 1, 5, "great").status, 201)
        self.assertEqual(self.rate(3, 1, 4).status, 201)
        self.assertEqual(self.rate(4, 1, 2, "meh").status, 201)
        body = self.api.get(SELLER.format(1), user=5).json()
        self.assertEqual(body["seller"]["totalRatings"], 3)
        self.assertEqual(body["seller"]["positiveRatings"], 2)
        self.assertAlmostEqual(body["seller"]["averageRating"], 3.67)
        self.assertEqual(len(body["ratings"]), 3)
        self.assertEqual({r["raterId"] for r in body["ratings"]}, {2, 3, 4})
        self.assertTrue(all(r["createdAt"].endswith("Z") for r in body["ratings"]))
        page = self.api.get(SELLER.format(1) + "?limit=2&offset=2", user=5).json()
        self.assertEqual(len(page["ratings"]), 1)
        self.assertConsistent()

    def test_seller_errors(self):
        self.assertEqual(self.api.get(SELLER.format(999), user=2).status, 404)
        self.assertEqual(self.api.get(SELLER.format("abc"), user=2).status, 400)
        self.assertEqual(self.api.get(SELLER.format(1) + "?limit=1000", user=2).status, 400)

    def test_can_rate_reasons(self):
        def check(user, seller):
            res = self.api.get(CAN_RATE.format(seller), user=user)
            return res.status, res.json().get("canRate"), res.json().get("reason") or res.json().get("error")

        self.assertEqual(check(2, 1), (200, True, "eligible"))
        self.assertEqual(check(1, 1), (200, False, "cannot-rate-self"))
        self.assertEqual(check(5, 1), (200, False, "no-completed-order"))  # pending only
        self.assertEqual(check(6, 1), (200, False, "no-completed-order"))  # cancelled only
        self.assertEqual(check(2, 999)[0], 404)
        self.assertEqual(self.rate(2, 1, 5).status, 201)
        res = self.api.get(CAN_RATE.format(1), user=2).json()
        self.assertEqual((res["canRate"], res["reason"]), (False, "already-rated"))
        self.assertIn("ratingId", res)

    def test_create_rules(self):
        self.assertEqual(self.rate(2, 1, 5).status, 201)
        dup = self.rate(2, 1, 3)
        self.assertEqual(dup.status, 409)
        self.assertEqual(dup.json()["error"], "already-rated")
        self.assertEqual(self.rate(5, 1, 5).status, 403)
        self.assertEqual(self.rate(1, 1, 5).status, 403)
        self.assertEqual(self.rate(2, 999, 5).status, 404)
        self.assertEqual(self.rate(404, 1, 5).status, 403)  # token for a user that does not exist
        self.assertConsistent()

    def test_create_validates_input(self):
        bad_bodies = [
            {"sellerId": 1, "rating": 0}, {"sellerId": 1, "rating": 6}, {"sellerId": 1, "rating": 4.5},
            {"sellerId": 1, "rating": "5"}, {"sellerId": 1, "rating": True}, {"rating": 5},
            {"sellerId": -1, "rating": 5}, {"sellerId": 1, "rating": 5, "comment": 7},
            {"sellerId": 1, "rating": 5, "comment": "x" * 1001}, [1, 2],
        ]
        for body in bad_bodies:
            res = self.api.call("POST", "/api/v1/ratings", user=3, body=body)
            self.assertEqual(res.status, 400, body)
        res = self.api.call("POST", "/api/v1/ratings", user=3, body=b"{not json")
        self.assertEqual(res.status, 400)
        self.assertEqual(self.api.get(SELLER.format(1), user=2).json()["seller"]["totalRatings"], 0)

    def test_edit_and_delete_own_rating_keep_aggregates(self):
        created = self.rate(2, 1, 5, "great").json()
        rating_id = created["rating"]["id"]
        self.assertEqual(created["seller"]["totalRatings"], 1)
        self.assertEqual(self.rate(3, 1, 4).status, 201)
        edited = self.api.call("PUT", f"/api/v1/ratings/{rating_id}", user=2, body={"rating": 1, "comment": "changed"})
        self.assertEqual(edited.status, 200)
        self.assertEqual(edited.json()["rating"]["comment"], "changed")
        self.assertEqual(edited.json()["seller"]["positiveRatings"], 1)
        self.assertAlmostEqual(edited.json()["seller"]["averageRating"], 2.5)
        self.assertConsistent()
        # Someone else's rating: 403; a missing one: 404; nothing to change: 400.
        self.assertEqual(self.api.call("PUT", f"/api/v1/ratings/{rating_id}", user=3, body={"rating": 5}).status, 403)
        self.assertEqual(self.api.call("DELETE", f"/api/v1/ratings/{rating_id}", user=3).status, 403)
        self.assertEqual(self.api.call("PUT", "/api/v1/ratings/99999", user=2, body={"rating": 5}).status, 404)
        self.assertEqual(self.api.call("PUT", f"/api/v1/ratings/{rating_id}", user=2, body={}).status, 400)
        deleted = self.api.call("DELETE", f"/api/v1/ratings/{rating_id}", user=2)
        self.assertEqual(deleted.status, 200)
        self.assertEqual(deleted.json()["seller"]["totalRatings"], 1)
        self.assertEqual(self.api.call("DELETE", f"/api/v1/ratings/{rating_id}", user=2).status, 404)
        self.assertConsistent()
        # Deleting the last rating leaves the average NULL, not 0.
        other = self.api.get(CAN_RATE.format(1), user=3).json()["ratingId"]
        self.assertEqual(self.api.call("DELETE", f"/api/v1/ratings/{other}", user=3).status, 200)
        conn = sqlite3.connect(self.db)
        row = conn.execute('SELECT "SellerRating", "TotalRatings", "PositiveRatings" FROM "Users" WHERE "Id" = 1').fetchone()
        conn.close()
        self.assertEqual(row, (None, 0, 0))
        # Rated once, deleted: may rate again.
        self.assertEqual(self.rate(2, 1, 3).status, 201)

    def test_concurrent_writes_keep_aggregates_consistent(self):
        conn = sqlite3.connect(self.db)
        conn.executemany('INSERT INTO "Users" ("Id", "FullName", "Email") VALUES (?, ?, ?)',
                         [(100 + i, f"Buyer {i}", f"b{i}@example.test") for i in range(20)])
        conn.executemany('INSERT INTO "Orders" ("BuyerId", "SellerId", "Status") VALUES (?, 1, ?)',
                         [(100 + i, "completed") for i in range(20)])
        conn.commit()
        conn.close()
        statuses = []

        def worker(rater):
            statuses.append(self.rate(rater, 1, 1 + rater % 5).status)
            statuses.append(self.rate(rater, 1, 5).status)  # the duplicate must lose

        threads = [threading.Thread(target=worker, args=(100 + i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(statuses), [201] * 20 + [409] * 20)
        self.assertConsistent()

    def test_unknown_routes_and_methods(self):
        self.assertEqual(self.api.get("/nope").status, 404)
        res = self.api.call("PATCH", "/api/v1/ratings/1", user=2)
        self.assertIn(res.status, (404, 405, 501))
        self.assertEqual(self.api.call("GET", "/api/v1/ratings", user=2).status, 405)

    def test_cors_preflight(self):
        res = self.api.call("OPTIONS", "/api/v1/ratings", headers={"Origin": "http://web.example"})
        self.assertEqual(res.status, 204)
        self.assertEqual(res.headers["Access-Control-Allow-Origin"], "*")
        self.assertIn("Authorization", res.headers["Access-Control-Allow-Headers"])

    def test_metrics_exposition(self):
        self.api.get(SELLER.format(1), user=2)
        self.api.get(SELLER.format(2), user=2)
        self.api.get(SELLER.format(1))
        res = self.api.get("/metrics")
        self.assertEqual(res.status, 200)
        self.assertTrue(res.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        text = res.text
        self.assertIn("# TYPE http_requests_total counter", text)
        self.assertIn("# TYPE http_request_duration_seconds histogram", text)
        # Route patterns, never raw paths, so series do not grow with ids.
        self.assertRegex(text, r'http_requests_total\{route="/api/v1/ratings/seller/:id",method="GET",status="200"\} [2-9]\d*')
        self.assertRegex(text, r'http_requests_total\{route="/api/v1/ratings/seller/:id",method="GET",status="401"\} \d+')
        self.assertNotIn('route="/api/v1/ratings/seller/1"', text)
        for le in ("0.005", "0.01", "0.1", "1", "10", "+Inf"):
            self.assertIn(f'http_request_duration_seconds_bucket{{route="/api/v1/ratings/seller/:id",method="GET",le="{le}"}}', text)
        self.assertRegex(text, r'http_request_duration_seconds_sum\{route="/api/v1/ratings/seller/:id",method="GET"\} [0-9.e-]+')
        self.assertRegex(text, r'http_request_duration_seconds_count\{route="/api/v1/ratings/seller/:id",method="GET"\} \d+')
        self.assertIn('app_info{app="api",version="7.7.7"} 1', text)
        self.assertIn("rating_feature_percentage 25", text)
        self.assertIn('rate_limit_hits_total{limiter="read"} 0', text)
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$|.*le="\+Inf"\} \d+$')
        # Buckets are cumulative.
        counts = [int(m) for m in re.findall(
            r'http_request_duration_seconds_bucket\{route="/api/v1/ratings/seller/:id",method="GET",le="[^"]+"\} (\d+)', text)]
        self.assertEqual(counts, sorted(counts))

    def test_access_log_is_json_on_stdout(self):
        self.api.get("/health")
        import json

        lines = [json.loads(line) for line in self.api.stdout().splitlines() if line.strip()]
        requests = [line for line in lines if line["msg"] == "request"]
        self.assertTrue(requests)
        self.assertTrue({"method", "path", "route", "status", "duration_ms", "ip"} <= set(requests[-1]))
        self.assertNotIn(support.SECRET, self.api.stdout() + self.api.stderr())


class BeforeMigrationTest(unittest.TestCase):
    """Phase 2 can ship the API before phase 1's migration: it must run and say why it refuses."""

    def test_schema_missing_then_migrated(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp, migrated=False)
            support.seed_marketplace(db)
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": support.SECRET})
            try:
                health = api.get("/health")
                self.assertEqual(health.status, 200)
                self.assertEqual(health.json()["database"], "schema-missing")
                self.assertEqual(api.get(SELLER.format(1)).status, 401)
                for method, path, body in (("GET", SELLER.format(1), None), ("GET", CAN_RATE.format(1), None),
                                           ("POST", "/api/v1/ratings", {"sellerId": 1, "rating": 5})):
                    res = api.call(method, path, user=2, body=body)
                    self.assertEqual(res.status, 503, path)
                    self.assertEqual(res.json()["error"], "schema-missing")
                support.migrate_sqlite(db)
                self.assertEqual(api.get("/health").json()["database"], "ok")
                self.assertEqual(api.get(SELLER.format(1), user=2).status, 200)
                # Rolled back (table dropped): noticed on the next failing query.
                conn = sqlite3.connect(db)
                conn.execute('DROP TABLE "SellerRatings"')
                conn.commit()
                conn.close()
                self.assertEqual(api.get(SELLER.format(1), user=2).status, 503)
                self.assertEqual(api.get("/health").json()["database"], "schema-missing")
            finally:
                api.cleanup()

    def test_unreachable_database(self):
        with tempfile.TemporaryDirectory() as tmp:
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{tmp}/missing.db", "JWT_SECRET": support.SECRET})
            try:
                health = api.get("/health")
                self.assertEqual(health.status, 503)
                self.assertEqual(health.json()["database"], "unreachable")
                self.assertEqual(api.get(SELLER.format(1), user=2).status, 503)
            finally:
                api.cleanup()


class RateLimitTest(unittest.TestCase):
    def test_read_and_create_limiters(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp)
            support.seed_marketplace(db)
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": support.SECRET,
                                             "RATE_LIMIT_WINDOW_MS": "60000", "RATE_LIMIT_MAX_REQUESTS": "3"})
            try:
                statuses = [api.get(SELLER.format(1), user=2).status for _ in range(3)]
                self.assertEqual(statuses, [200, 200, 200])
                limited = api.get(SELLER.format(1), user=2)
                self.assertEqual(limited.status, 429)
                self.assertTrue(1 <= int(limited.headers["Retry-After"]) <= 60)
                self.assertEqual(limited.json()["error"], "rate-limited")
                # Unauthenticated requests count too: the limiter runs before auth.
                self.assertEqual(api.get(SELLER.format(1)).status, 429)
                # Health and metrics are never limited.
                for _ in range(5):
                    self.assertEqual(api.get("/health").status, 200)
                # Writes have their own, stricter limiter: max(1, 3 // 10) = 1 per window.
                first = api.call("POST", "/api/v1/ratings", user=2, body={"sellerId": 1, "rating": 5})
                self.assertEqual(first.status, 201)
                second = api.call("POST", "/api/v1/ratings", user=3, body={"sellerId": 1, "rating": 5})
                self.assertEqual(second.status, 429)
                text = api.get("/metrics").text
                self.assertIn('rate_limit_hits_total{limiter="read"} 2', text)
                self.assertIn('rate_limit_hits_total{limiter="create"} 1', text)
                self.assertIn('http_requests_total{route="/api/v1/ratings/seller/:id",method="GET",status="429"} 2', text)
            finally:
                api.cleanup()

    def test_window_resets(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp)
            support.seed_marketplace(db)
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": support.SECRET,
                                             "RATE_LIMIT_WINDOW_MS": "700", "RATE_LIMIT_MAX_REQUESTS": "1"})
            try:
                self.assertEqual(api.get(SELLER.format(1), user=2).status, 200)
                self.assertEqual(api.get(SELLER.format(1), user=2).status, 429)
                time.sleep(0.8)
                self.assertEqual(api.get(SELLER.format(1), user=2).status, 200)
            finally:
                api.cleanup()


if __name__ == "__main__":
    unittest.main()

"""Pure pieces: metrics exposition, the fixed-window limiter, routing, dialect SQL."""

from __future__ import annotations

import unittest

from marketplace import metrics, payloads
from marketplace.dialects import DIALECTS
from marketplace.httpkit import Router
from marketplace.ratelimit import FixedWindowLimiter, write_limit


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class LimiterTest(unittest.TestCase):
    def test_fixed_window_per_key(self):
        clock = FakeClock()
        limiter = FixedWindowLimiter("read", 10_000, 2, clock)
        self.assertEqual([limiter.hit("a").allowed for _ in range(3)], [True, True, False])
        self.assertTrue(limiter.hit("b").allowed)  # another client has its own window
        clock.now += 4
        refused = limiter.hit("a")
        self.assertFalse(refused.allowed)
        self.assertEqual(refused.retry_after, 6)
        clock.now += 6
        self.assertTrue(limiter.hit("a").allowed)

    def test_sweep_forgets_idle_clients(self):
        clock = FakeClock()
        limiter = FixedWindowLimiter("read", 1000, 5, clock)
        for i in range(100):
            limiter.hit(f"ip{i}")
        clock.now += 2
        limiter.hit("new")
        self.assertEqual(len(limiter._windows), 1)

    def test_write_limit(self):
        self.assertEqual([write_limit(n) for n in (1, 9, 10, 100, 105)], [1, 1, 1, 10, 10])


class MetricsTest(unittest.TestCase):
    def test_histogram_and_counter_text(self):
        m = metrics.AppMetrics("api", "1.2.3", 25, True)
        m.observe_request("/x/:id", "GET", 200, 0.003)
        m.observe_request("/x/:id", "GET", 200, 0.3)
        m.observe_request("/x/:id", "GET", 500, 20)
        text = m.render()
        self.assertIn('http_requests_total{route="/x/:id",method="GET",status="200"} 2', text)
        self.assertIn('http_request_duration_seconds_bucket{route="/x/:id",method="GET",le="0.005"} 1', text)
        self.assertIn('http_request_duration_seconds_bucket{route="/x/:id",method="GET",le="0.25"} 1', text)
        self.assertIn('http_request_duration_seconds_bucket{route="/x/:id",method="GET",le="0.5"} 2', text)
        self.assertIn('http_request_duration_seconds_bucket{route="/x/:id",method="GET",le="10"} 2', text)
        self.assertIn('http_request_duration_seconds_bucket{route="/x/:id",method="GET",le="+Inf"} 3', text)
        self.assertIn('http_request_duration_seconds_count{route="/x/:id",method="GET"} 3', text)
        self.assertIn('app_info{app="api",version="1.2.3"} 1', text)
        self.assertIn("rating_feature_percentage 25", text)
        self.assertIn("rating_feature_enabled 1", text)
        self.assertTrue(text.endswith("\n"))

    def test_label_escaping(self):
        c = metrics.Counter("c_total", "help", ("l",))
        c.inc(l='a"b\\c\nd')
        self.assertEqual(c.lines(), ['c_total{l="a\\"b\\\\c\\nd"} 1'])


class RouterTest(unittest.TestCase):
    def test_patterns(self):
        r = Router()
        r.add("GET", "/api/v1/ratings/seller/:id", lambda req: None)
        r.add("PUT", "/api/v1/ratings/:id", lambda req: None)
        route, handler, params, _ = r.match("GET", "/api/v1/ratings/seller/42")
        self.assertEqual((route, params), ("/api/v1/ratings/seller/:id", {"id": "42"}))
        route, handler, _, allowed = r.match("GET", "/api/v1/ratings/42")
        self.assertIsNone(handler)
        self.assertEqual((route, allowed), ("/api/v1/ratings/:id", ["PUT"]))
        self.assertEqual(r.match("GET", "/api/v1/ratings/seller/42/x")[0], "unmatched")


class PayloadTest(unittest.TestCase):
    def test_ids(self):
        self.assertEqual(payloads.parse_id("12"), 12)
        for bad in ("0", "-1", "1.5", "x", "99999999999", "１２"):
            with self.assertRaises(payloads.BadInput, msg=bad):
                payloads.parse_id(bad)

    def test_new_rating(self):
        self.assertEqual(payloads.new_rating(b'{"sellerId": 3, "rating": 4, "comment": "  "}'), (3, 4, None))
        self.assertEqual(payloads.new_rating(b'{"sellerId": "3", "rating": 4}'), (3, 4, None))


class DialectTest(unittest.TestCase):
    def test_paging_and_insert(self):
        self.assertEqual(DIALECTS["sqlite"].page(20, 40), (" LIMIT ? OFFSET ?", (20, 40)))
        self.assertEqual(DIALECTS["mssql"].page(20, 40), (" OFFSET ? ROWS FETCH NEXT ? ROWS ONLY", (40, 20)))
        self.assertIn("RETURNING", DIALECTS["postgres"].insert_returning_id("T", ["A"], "?"))
        self.assertIn('OUTPUT INSERTED."Id" VALUES', DIALECTS["mssql"].insert_returning_id("T", ["A"], "?"))
        self.assertTrue(DIALECTS["postgres"].lock_row("Users").endswith("FOR UPDATE"))
        self.assertIn("UPDLOCK", DIALECTS["mssql"].lock_row("Users"))

    def test_split(self):
        self.assertEqual(DIALECTS["sqlite"].split_script("-- c\nCREATE A;\n\nCREATE B\n  (x);\n"),
                         ["CREATE A", "CREATE B\n  (x)"])
        self.assertEqual(DIALECTS["mssql"].split_script("A\nGO\n-- only a comment\nGO\nB\ngo\n"), ["A", "B"])


if __name__ == "__main__":
    unittest.main()

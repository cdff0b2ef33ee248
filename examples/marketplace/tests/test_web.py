"""The SSR web process: the rating UI follows the flag and the user's bucket."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import unittest

from marketplace import bucketing
from tests import support

MARKER = re.compile(r'data-rating-feature="(on|off)" data-rating-reason="([a-z-]+)"')


def marker(html: str) -> tuple[str, str]:
    found = MARKER.search(html)
    assert found, html
    return found.group(1), found.group(2)


def add_ratings(path: str, seller: int, values: dict[int, int]) -> None:
    conn = sqlite3.connect(path)
    conn.executemany('INSERT INTO "SellerRatings" ("SellerId", "RaterId", "Rating", "Comment", "UpdatedAt") '
                     "VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
                     [(seller, rater, value, f"comment <i>{rater}</i>") for rater, value in values.items()])
    conn.execute('UPDATE "Users" SET "TotalRatings" = ?, "PositiveRatings" = ?, "SellerRating" = ? WHERE "Id" = ?',
                 (len(values), sum(v >= 4 for v in values.values()),
                  round(sum(values.values()) / len(values), 2), seller))
    conn.commit()
    conn.close()


class WebRolloutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = support.sqlite_db(cls.tmp.name)
        support.seed_marketplace(cls.db)
        add_ratings(cls.db, 1, {2: 5, 3: 4, 4: 2})
        cls.web = support.AppProcess("web", {
            "DATABASE_URL": f"sqlite:///{cls.db}", "ENABLE_RATING_FEATURE": "true",
            "RATING_ROLLOUT_PERCENTAGE": "25", "API_BASE_URL": "http://127.0.0.1:3000/",
        }, extra_environ={"APP_VERSION": "3.1.4"})

    @classmethod
    def tearDownClass(cls):
        cls.web.cleanup()
        cls.tmp.cleanup()

    def test_health(self):
        res = self.web.get("/health")
        self.assertEqual(res.status, 200)
        body = res.json()
        self.assertEqual((body["app"], body["status"], body["version"], body["database"]), ("web", "ok", "3.1.4", "ok"))
        self.assertEqual(body["flag"], {"enabled": True, "percentage": 25, "name": "rating"})

    def test_rating_ui_follows_bucket(self):
        seen = set()
        for user in range(1, 61):
            res = self.web.get(f"/sellers/1?user={user}")
            self.assertEqual(res.status, 200)
            state, reason = marker(res.text)
            expected = bucketing.in_rollout("rating", user, 25)
            self.assertEqual(state == "on", expected, user)
            self.assertEqual(reason, "on" if expected else "not-in-rollout")
            self.assertEqual('class="ratings"' in res.text, expected)
            self.assertEqual("Rate this seller" in res.text, expected)
            seen.add(state)
        self.assertEqual(seen, {"on", "off"})

    def test_badge_list_and_escaping(self):
        user = next(u for u in range(1, 1000) if bucketing.in_rollout("rating", u, 25))
        html = self.web.get(f"/sellers/1?user={user}").text
        self.assertIn('data-average="3.67" data-total="3"', html)
        self.assertIn("(3 ratings)", html)
        self.assertEqual(html.count('class="rating" data-rating-id'), 3)
        self.assertIn("comment &lt;i&gt;2&lt;/i&gt;", html)
        self.assertNotIn("<i>2</i>", html)
        self.assertIn('data-api-base="http://127.0.0.1:3000"', html)
        new_seller = self.web.get(f"/sellers/3?user={user}").text
        self.assertIn("New Seller", new_seller)
        self.assertIn("Cara &lt;b&gt;Buyer&lt;/b&gt;", new_seller)

    def test_anonymous_and_missing(self):
        self.assertEqual(marker(self.web.get("/sellers/1").text), ("off", "no-user"))
        self.assertEqual(self.web.get("/sellers/999?user=1").status, 404)
        self.assertEqual(self.web.get("/sellers/abc").status, 400)

    def test_assets_flag_and_metrics(self):
        js = self.web.get("/static/app.js")
        self.assertEqual(js.status, 200)
        self.assertIn("murmur3_32", js.text)
        self.assertEqual(self.web.get("/static/styles.css").status, 200)
        self.assertIn("Marketplace", self.web.get("/").text)
        flag = self.web.get("/flag.json").json()
        self.assertEqual(flag, {"enabled": True, "percentage": 25, "name": "rating",
                                "apiBaseUrl": "http://127.0.0.1:3000", "version": "3.1.4"})
        self.web.get("/sellers/1?user=5")
        text = self.web.get("/metrics").text
        self.assertIn('http_requests_total{route="/sellers/:id",method="GET",status="200"}', text)
        self.assertIn('app_info{app="web",version="3.1.4"} 1', text)


class WebFlagStatesTest(unittest.TestCase):
    def page_states(self, env: dict, migrated: bool = True) -> set[tuple[str, str]]:
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp, migrated=migrated)
            support.seed_marketplace(db)
            web = support.AppProcess("web", {"DATABASE_URL": f"sqlite:///{db}", **env})
            try:
                return {marker(web.get(f"/sellers/1?user={u}").text) for u in range(1, 30)}
            finally:
                web.cleanup()

    def test_disabled_hides_for_everyone(self):
        self.assertEqual(self.page_states({"ENABLE_RATING_FEATURE": "false", "RATING_ROLLOUT_PERCENTAGE": "100"}),
                         {("off", "disabled")})

    def test_full_rollout_shows_for_everyone(self):
        self.assertEqual(self.page_states({"ENABLE_RATING_FEATURE": "true", "RATING_ROLLOUT_PERCENTAGE": "100"}),
                         {("on", "on")})

    def test_schema_missing_renders_without_ratings(self):
        self.assertEqual(self.page_states({"ENABLE_RATING_FEATURE": "true"}, migrated=False),
                         {("off", "schema-missing")})


class FlagJsonTest(unittest.TestCase):
    def test_write_flag_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            env_file = f"{tmp}/web.env"
            with open(env_file, "w") as handle:
                handle.write("ENABLE_RATING_FEATURE=true\nRATING_ROLLOUT_PERCENTAGE=10\nAPI_BASE_URL=https://api.example\n")
            result = support.run_module("marketplace.web", "--write-flag-json", f"{tmp}/public", "--env-file", env_file,
                                        env={"APP_VERSION": "5.0"})
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(f"{tmp}/public/flag.json") as handle:
                self.assertEqual(json.load(handle), {"enabled": True, "percentage": 10, "name": "rating",
                                                     "apiBaseUrl": "https://api.example", "version": "5.0"})
            bad = support.run_module("marketplace.web", "--write-flag-json", f"{tmp}/public",
                                     env={"RATING_ROLLOUT_PERCENTAGE": "x"})
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("RATING_ROLLOUT_PERCENTAGE", bad.stderr)


if __name__ == "__main__":
    unittest.main()

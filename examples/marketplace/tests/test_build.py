"""The build (npm run build's stand-in) and running the app from its output."""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

from tests import support
from tests.test_bucketing import BrowserCopyTest


class BuildTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = Path(cls.tmp.name) / "release"
        result = support.run_module("marketplace.build", "--out", str(cls.out), "--version", "4.5.6")
        assert result.returncode == 0, result.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_tree(self):
        for rel in ("VERSION", "marketplace/__init__.py", "marketplace/api.py", "marketplace/web.py",
                    "schema/sqlite.sql", "schema/postgres.sql", "schema/mssql.sql", "web/templates/layout.html",
                    "public/index.html", "public/seller.html", "public/app.js", "public/styles.css"):
            self.assertTrue((self.out / rel).is_file(), rel)
        self.assertEqual((self.out / "VERSION").read_text().strip(), "4.5.6")
        self.assertFalse(list(self.out.rglob("__pycache__")))
        self.assertFalse((self.out / "tests").exists())
        seller = (self.out / "public" / "seller.html").read_text()
        self.assertIn('content="4.5.6"', seller)
        self.assertIn('data-rating-feature="off"', seller)
        self.assertIn('src="app.js"', seller)
        self.assertNotIn("$version", seller)

    def test_app_js_buckets_like_python(self):
        BrowserCopyTest().check(str(self.out / "public" / "app.js"))

    def test_rebuild_replaces_owned_parts_only(self):
        (self.out / "marketplace" / "stale.py").write_text("")
        (self.out / "keep.txt").write_text("mine")
        result = support.run_module("marketplace.build", "--out", str(self.out), "--version", "4.5.6")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse((self.out / "marketplace" / "stale.py").exists())
        self.assertEqual((self.out / "keep.txt").read_text(), "mine")

    def test_release_runs_and_reports_its_version(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp)
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": support.SECRET},
                                     root=self.out, extra_environ={"APP_VERSION": "ignored"})
            web = support.AppProcess("web", {"DATABASE_URL": f"sqlite:///{db}"}, root=self.out)
            try:
                self.assertEqual(api.get("/health").json()["version"], "4.5.6")
                self.assertEqual(web.get("/health").json()["version"], "4.5.6")
                self.assertEqual(web.get("/static/app.js").status, 200)
            finally:
                api.cleanup()
                web.cleanup()

    def test_refuses_source_folder(self):
        result = support.run_module("marketplace.build", "--out", os.fspath(support.APP_ROOT))
        self.assertNotEqual(result.returncode, 0)


if __name__ == "__main__":
    unittest.main()

"""Env files, settings validation and what the processes print at start."""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

from marketplace import config, dburl, envfile
from tests import support

BASE = {"DATABASE_URL": "sqlite:///tmp/x.db", "JWT_SECRET": "s"}
ODBC_PG = "DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=m;Uid=u;Pwd=hunter2-secret"


class EnvFileTest(unittest.TestCase):
    def test_parse(self):
        text = ('# comment\n\nA=1\nexport B = two words \nC="quoted # not comment"\n'
                "D='single $x'\nE=plain # trailing\nF=\nG=\"line\\nbreak\"\nH=x=y\n")
        self.assertEqual(envfile.parse(text), {
            "A": "1", "B": "two words", "C": "quoted # not comment", "D": "single $x",
            "E": "plain", "F": "", "G": "line\nbreak", "H": "x=y"})

    def test_rejects_garbage(self):
        with self.assertRaisesRegex(envfile.EnvFileError, ":2:"):
            envfile.parse("A=1\nnot a pair\n")

    def test_environment_overrides_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as handle:
            handle.write("PORT=1111\nHOST=0.0.0.0\n")
        try:
            merged = envfile.load(handle.name, {"PORT": "2222"})
            self.assertEqual((merged["PORT"], merged["HOST"]), ("2222", "0.0.0.0"))
        finally:
            os.unlink(handle.name)

    def test_missing_file(self):
        with self.assertRaisesRegex(envfile.EnvFileError, "cannot read"):
            envfile.load("/nonexistent/file.env", {})


class SettingsTest(unittest.TestCase):
    def test_defaults(self):
        s = config.load("api", BASE)
        self.assertEqual((s.host, s.port, s.rate_window_ms, s.rate_max_requests), ("127.0.0.1", 3000, 900000, 100))
        self.assertEqual(s.flag, config.FlagSettings(False, 100, "rating"))
        w = config.load("web", BASE)
        self.assertEqual(w.port, 3001)
        self.assertEqual(config.load("web", {**BASE, "PORT": "4000"}).port, 4000)
        self.assertEqual(config.load("web", {**BASE, "PORT": "4000", "WEB_PORT": "4001"}).port, 4001)

    def test_bad_values_name_the_variable(self):
        cases = {
            "PORT": "abc", "RATE_LIMIT_WINDOW_MS": "0", "RATE_LIMIT_MAX_REQUESTS": "-5",
            "ENABLE_RATING_FEATURE": "maybe", "RATING_ROLLOUT_PERCENTAGE": "101", "LOG_LEVEL": "loud",
            "NODE_ENV": "prod", "DATABASE_URL": "mysql://x", "JWT_SECRET": "  ", "RATING_FLAG_NAME": "a:b",
        }
        for key, value in cases.items():
            with self.assertRaises(config.ConfigError, msg=key) as ctx:
                config.load("api", {**BASE, key: value})
            self.assertEqual(ctx.exception.variable, key)

    def test_web_does_not_need_jwt_secret(self):
        self.assertIsNone(config.load("web", {"DATABASE_URL": "sqlite:///tmp/x.db"}).jwt_secret)

    def test_secret_never_prints(self):
        s = config.load("api", {**BASE, "JWT_SECRET": "super-secret-value", "DATABASE_URL": ODBC_PG})
        self.assertNotIn("super-secret-value", repr(s))
        self.assertNotIn("hunter2", repr(s))
        self.assertEqual(s.jwt_secret.reveal(), "super-secret-value")

    def test_version_sources(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            self.assertEqual(config.read_version({}, root), "dev")
            self.assertEqual(config.read_version({"APP_VERSION": "1.0"}, root), "1.0")
            (root / "VERSION").write_text("2.0\n")
            self.assertEqual(config.read_version({"APP_VERSION": "1.0"}, root), "2.0")


class DatabaseUrlTest(unittest.TestCase):
    def test_dialects(self):
        self.assertEqual(dburl.parse("sqlite:///tmp/a.db").sqlite_path, "/tmp/a.db")
        self.assertEqual(dburl.parse("sqlite:////tmp/a.db").sqlite_path, "/tmp/a.db")
        self.assertEqual(dburl.parse(ODBC_PG).dialect, "postgres")
        self.assertEqual(dburl.parse("Driver={ODBC Driver 18 for SQL Server};Server=tcp:h,1433;Pwd={a;b}").dialect, "mssql")
        for bad in ("sqlite:relative.db", "postgres://u:p@h/db", "DRIVER={MySQL};Server=x"):
            with self.assertRaises(dburl.DatabaseUrlError, msg=bad):
                dburl.parse(bad)

    def test_mask(self):
        self.assertEqual(dburl.mask("Server=h;Pwd=abc;Uid=u"), "Server=h;Pwd=***;Uid=u")
        self.assertEqual(dburl.mask("Server=h;PASSWORD={a;b};Uid=u"), "Server=h;PASSWORD=***;Uid=u")


class StartupTest(unittest.TestCase):
    """The processes themselves: one stderr line and a non-zero exit on a bad value."""

    def run_api(self, env_text: str, app: str = "api"):
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as handle:
            handle.write(env_text)
        try:
            return support.run_module(f"marketplace.{app}", "--env-file", handle.name, timeout=20)
        finally:
            os.unlink(handle.name)

    def test_bad_values_exit_nonzero_naming_variable(self):
        good = f"DATABASE_URL={ODBC_PG}\nJWT_SECRET=do-not-print-me\n"
        for line, variable in (("PORT=http", "PORT"), ("RATING_ROLLOUT_PERCENTAGE=150", "RATING_ROLLOUT_PERCENTAGE"),
                               ("ENABLE_RATING_FEATURE=yesplease", "ENABLE_RATING_FEATURE"),
                               ("RATE_LIMIT_MAX_REQUESTS=lots", "RATE_LIMIT_MAX_REQUESTS")):
            result = self.run_api(good + line + "\n")
            self.assertNotEqual(result.returncode, 0, line)
            lines = result.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertIn(variable, lines[0])
            self.assertNotIn("do-not-print-me", result.stderr + result.stdout)
            self.assertNotIn("hunter2", result.stderr + result.stdout)

    def test_missing_required(self):
        result = self.run_api("PORT=1234\nJWT_SECRET=x\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DATABASE_URL", result.stderr)
        result = self.run_api("DATABASE_URL=sqlite:///tmp/x.db\n")
        self.assertIn("JWT_SECRET", result.stderr)
        result = self.run_api("WEB_PORT=nope\nDATABASE_URL=sqlite:///tmp/x.db\n", app="web")
        self.assertIn("WEB_PORT", result.stderr)

    def test_port_in_use(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp)
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": support.SECRET})
            try:
                result = self.run_api(f"DATABASE_URL=sqlite:///{db}\nJWT_SECRET=x\nPORT={api.port}\n")
                self.assertEqual(result.returncode, 1)
                self.assertIn("cannot listen", result.stderr)
            finally:
                api.cleanup()

    def test_odbc_password_is_masked_and_unreachable_is_503(self):
        try:
            import pyodbc
        except ImportError:
            pyodbc = None
        support.need(pyodbc is not None, "needs pyodbc for an ODBC DATABASE_URL")
        unused = support.free_port()
        url = ODBC_PG.replace("Port=1", f"Port={unused}")
        api = support.AppProcess("api", {"DATABASE_URL": url, "JWT_SECRET": "do-not-print-me"})
        try:
            health = api.get("/health")
            self.assertEqual(health.status, 503)
            self.assertEqual(health.json()["database"], "unreachable")
            self.assertEqual(api.get("/api/v1/ratings/seller/1", user=2).status, 401)  # other secret
        finally:
            api.stop()
            output = api.stdout() + api.stderr()
            api.cleanup()
        self.assertIn("Pwd=***", output)
        self.assertNotIn("hunter2", output)
        self.assertNotIn("do-not-print-me", output)

    def test_sigterm_stops_cleanly(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = support.sqlite_db(tmp)
            api = support.AppProcess("api", {"DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": support.SECRET})
            self.assertEqual(api.stop(), 0)
            self.assertIn('"msg":"stopped"', api.stdout())
            api.cleanup()


if __name__ == "__main__":
    unittest.main()

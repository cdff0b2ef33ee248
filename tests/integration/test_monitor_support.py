"""Shared parts of the monitor integration tests (named test_monitor_* so it sits with them).

- DATASET: users, orders and ratings with fixed ages, whose answers the tests assert literally
- seed(): writes it through deploy.db (both dialects; SQLite rows in both time formats in use)
- MonitorProject / make_project: a project root (DEPLOY_ROOT) whose `t` environment points at
  a migrated, seeded SQLite file or PostgreSQL database; tasks run as the real `invoke`
- StandinApi: the stand-in marketplace API as a subprocess on 127.0.0.1 and a free port
- Receiver: a local HTTP server on 127.0.0.1 that records webhook posts
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from deploy.config.environment import DatabaseConfig
from deploy.db import aggregates, migrate
from deploy.db.connect import Database, connect
from deploy.monitoring import periods
from deploy.secrets import Secret
from deploy.demo.traffic import token
from tests.support import invoke_fork
from tests.support.envs import APP_ENV, REPO, make_root
from tests.support.postgres import BASE_SCHEMA, SQL_ROOT
from tests.support.ports import free_port

STANDIN = REPO / "examples" / "marketplace"
SECRETS = (APP_ENV["JWT_SECRET"], "s3cret-pg-pass")

USERS = 20
# (buyer, seller, status, age in days): buyers 5..14 completed with sellers 1..3 five days ago;
# buyer 18's completed order is 100 days old (outside both report windows)
ORDERS = ([(b, (b - 5) % 3 + 1, "completed", 5) for b in range(5, 15)]
          + [(15, 4, "pending", 1), (16, 1, "cancelled", 1), (18, 4, "completed", 100)])
# (seller, rater, rating, age in days); age 0 = earlier today
RATINGS = [(1, 5, 5, 0), (1, 6, 5, 1), (1, 7, 4, 1), (1, 8, 4, 3), (2, 5, 3, 0), (2, 9, 2, 10), (2, 10, 1, 40),
           (3, 11, 5, 2), (3, 12, 4, 2), (4, 19, 5, 200)]


def at_age(now: datetime, days: int) -> datetime:
    if days == 0:
        return max(periods.midnight(now.date()), now - timedelta(minutes=1))
    return periods.midnight(now.date() - timedelta(days=days)) + timedelta(hours=12)


def stamp(db: Database, at: datetime, index: int = 0):
    """How each driver takes a time; SQLite alternates the app's and the migration's text formats."""
    utc = at.astimezone(timezone.utc)
    if db.dialect != "sqlite":
        return utc.replace(tzinfo=None)
    return utc.strftime("%Y-%m-%d %H:%M:%S") if index % 2 else utc.strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{utc.microsecond // 1000:03d}Z"


def add_users(db: Database, count: int, first: int = 1) -> None:
    for i in range(first, first + count):
        db.execute('INSERT INTO "Users" ("Id", "FullName", "Email") VALUES (?, ?, ?)',
                   (i, f"User {i}", f"user{i}@example.com"))


def add_rating(db: Database, seller: int, rater: int, rating: int, at: datetime, index: int = 0) -> None:
    db.execute('INSERT INTO "SellerRatings" ("SellerId", "RaterId", "Rating", "CreatedAt", "UpdatedAt") '
               "VALUES (?, ?, ?, ?, ?)", (seller, rater, rating, stamp(db, at, index), stamp(db, at, index)))


def seed(db: Database, now: datetime) -> None:
    """DATASET into a migrated database, aggregates consistent afterwards."""
    add_users(db, USERS)
    for i, (buyer, seller, status, age) in enumerate(ORDERS):
        db.execute('INSERT INTO "Orders" ("BuyerId", "SellerId", "Status", "CreatedAt") VALUES (?, ?, ?, ?)',
                   (buyer, seller, status, stamp(db, at_age(now, age), i)))
    for i, (seller, rater, rating, age) in enumerate(RATINGS):
        add_rating(db, seller, rater, rating, at_age(now, age), i)
    aggregates.backfill(db)


def new_database(kind: str, tmp_path: Path, request, migrated: bool = True) -> tuple[DatabaseConfig, str, str]:
    """(config, app DATABASE_URL, ODBC or '') for an empty database with the base schema."""
    if kind == "sqlite":
        path = tmp_path / "market.db"
        tmp_path.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()          # the marketplace's database exists before any deploy
        config = DatabaseConfig(dialect="sqlite", path=str(path), backups={"dir": str(tmp_path / "backups")})
        url, odbc = f"sqlite:///{path}", ""
    else:
        cluster = request.getfixturevalue("postgres")
        odbc = cluster.fresh_database("monitor")
        config = DatabaseConfig(dialect="postgres", odbc=Secret(odbc, name="database.odbc"), connect_timeout=10,
                                query_timeout=120, backups={"dir": str(tmp_path / "backups")})
        url = odbc
    with connect(config, tmp_path) as db:
        db.script(BASE_SCHEMA[kind])
        if migrated:
            migrate.apply(db, SQL_ROOT, actor="fixture")
    return config, url, odbc


@dataclass
class MonitorProject:
    root: Path
    dialect: str
    config: DatabaseConfig
    url: str
    extra_env: dict
    api_port: int

    def db(self) -> Database:
        return connect(self.config, self.root)

    def invoke(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update({"DEPLOY_ROOT": str(self.root), "CI": "true", **self.extra_env})
        proc = invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        for secret in SECRETS:
            assert secret not in proc.stdout + proc.stderr
        return proc

    def run(self, task: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.invoke(task, "--env", "t", *args, timeout=timeout)

    def json(self, task: str, *args: str, timeout: float = 120) -> tuple[int, dict]:
        proc = self.run(task, *args, "--json", timeout=timeout)
        assert proc.stdout.strip(), proc.stderr
        return proc.returncode, json.loads(proc.stdout)

    def alerts_yaml(self, text: str) -> None:
        (self.root / "checks" / "alerts.yaml").write_text(text)


def make_project(kind: str, tmp_path: Path, request, *, seeded: bool = True, hosts: list[dict] | None = None,
                 now: datetime | None = None) -> MonitorProject:
    config, url, odbc = new_database(kind, tmp_path, request)
    if seeded:
        with connect(config, tmp_path) as db:
            seed(db, now or datetime.now(timezone.utc))
    database = {"dialect": kind, "backups": {"dir": str(tmp_path / "backups")}}
    database.update({"path": config.path} if kind == "sqlite" else {"odbc": "${PG_ODBC}"})
    port = free_port()
    root = make_root(tmp_path / "project", "t", {
        "secrets": [] if kind == "sqlite" else ["PG_ODBC"],      # the connection string has the password
        "hosts": hosts or [{"name": "api-1", "transport": "local", "address": "127.0.0.1", "roles": ["api"]}],
        "database": database,
        "env": dict(APP_ENV),
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": str(STANDIN),
                         "start": "python3 -m marketplace.api --env-file {env_file}", "port": port}},
    })
    return MonitorProject(root, kind, config, url, {"PG_ODBC": odbc} if odbc else {}, port)


class StandinApi:
    """The stand-in API on 127.0.0.1:port against a database URL; stopped on exit."""

    def __init__(self, port: int, database_url: str, work: Path, **settings: str):
        self.port, self.base = port, f"http://127.0.0.1:{port}"
        self.env_file = work / f"api-{port}.env"
        values = {**APP_ENV, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": database_url,
                  "LOG_LEVEL": "error", **settings}
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        self.log = work / f"api-{port}.log"
        self.proc: subprocess.Popen | None = None
        self.http = requests.Session()

    def __enter__(self) -> "StandinApi":
        log = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "marketplace.api", "--env-file", str(self.env_file)],
                                     cwd=STANDIN, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.http.get(f"{self.base}/health", timeout=1).status_code in (200, 503):
                    return self
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.__exit__()
        raise AssertionError(f"the stand-in API did not start: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.http.close()

    def get(self, path: str, user: int = 5) -> int:
        auth = {"Authorization": f"Bearer {token(APP_ENV['JWT_SECRET'], user)}"}
        return self.http.get(f"{self.base}{path}", headers=auth, timeout=30).status_code

    def post(self, path: str, body: dict, user: int) -> int:
        auth = {"Authorization": f"Bearer {token(APP_ENV['JWT_SECRET'], user)}"}
        return requests.post(f"{self.base}{path}", headers=auth, json=body, timeout=30).status_code


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POSTed JSON body; answers `status`."""

    def __init__(self, status: int = 200):
        self.posts: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                outer.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                    "body": json.loads(self.rfile.read(length) or b"null")})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

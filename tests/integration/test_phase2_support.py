"""Shared by the phase 2 tests (no tests here): a project over the sshd fleet that deploys the
stand-in API with supervisord or pm2, and the real `invoke` run against it.

Each host gets a SQLite database with the marketplace schema, the rating migration and two users
(so the runbook's smoke checks answer 200/401/200), at the path APP_ENV's DATABASE_URL names.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import yaml

from deploy.config import environment as config
from tests.support import invoke_fork, strict
from tests.support.envs import REPO, TEST_JWT_SECRET, fleet_environment, make_root

STANDIN = REPO / "examples" / "marketplace"
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
PM2 = REPO / ".work" / "node" / "node_modules" / ".bin" / "pm2"
APP_DIR = "/srv/marketplace/api"
DB_FILE = "/srv/marketplace/shared/marketplace.db"
SECRET_VAR = "TEST_JWT_SECRET"
MIGRATION = REPO / "sql" / "sqlite" / "migrations" / "20240101000000_add_seller_ratings.sql"

# invoke loads this from the project root: the repository's own tasks, plus the phase 2 tasks
# when tasks.py does not list them yet.
def need_process_manager(manager: str) -> None:
    if manager == "supervisor" and not (VENV_BIN / "supervisord").exists():
        strict.missing("needs supervisord in the project's venv (pip install supervisor)")
    if manager == "pm2":
        strict.need_binary("pm2")
        strict.need_binary("node")


def seed_database(host) -> None:
    """The marketplace schema, the rating migration, a seller (1) and a buyer (2) on one host:
    the database made once per session, its bytes written into the host's private /srv through
    /proc/ANCHOR/root (the host's mount namespace) - not a python start inside each host."""
    shared = Path(f"/proc/{host.anchor_pid}/root{Path(DB_FILE).parent}")
    shared.mkdir(parents=True, exist_ok=True)
    (shared / Path(DB_FILE).name).write_bytes(_seeded_database())


@functools.cache
def _seeded_database() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "marketplace.db")
        db.executescript((STANDIN / "schema" / "sqlite.sql").read_text())
        db.executescript(MIGRATION.read_text())
        db.execute('INSERT INTO "Users" ("Id", "FullName", "Email") VALUES (1, ?, ?), (2, ?, ?)',
                   ("Seller One", "s1@example.com", "Buyer Two", "b2@example.com"))
        db.commit()
        db.close()
        return (Path(tmp) / "marketplace.db").read_bytes()


def _quote(text: str) -> str:
    import shlex
    return shlex.quote(text)


class Project:
    """A project root (DEPLOY_ROOT) with the environment `fleet` over the given test fleet."""

    def __init__(self, root: Path, fleet, manager: str, port: int):
        self.root, self.fleet, self.manager, self.port = root, fleet, manager, port
        self.extra_env = {SECRET_VAR: TEST_JWT_SECRET}

    def set_environment(self, **changes) -> None:
        """Change top-level keys of environments/fleet.yaml (batches, ...) between runs."""
        file = self.root / "environments" / "fleet.yaml"
        data = yaml.safe_load(file.read_text())
        data.update(changes)
        file.write_text(yaml.safe_dump(data, sort_keys=False))

    def set_smoke(self, **replacements: str) -> None:
        """Edit checks/smoke.yaml by text replacement (e.g. a shorter health deadline)."""
        file = self.root / "checks" / "smoke.yaml"
        text = file.read_text()
        for old, new in replacements.items():
            assert old in text, old
            text = text.replace(old, new)
        file.write_text(text)

    @property
    def env(self):
        with mock.patch.dict(os.environ, self.extra_env):
            return config.load("fleet", root=self.root)

    def invoke(self, *args: str, timeout: float = 120, wait: bool = True, extra: dict | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update({"DEPLOY_ROOT": str(self.root), "CI": "true", **self.extra_env, **(extra or {})})
        argv = [sys.executable, "-m", "invoke", *args, "--env", "fleet"]
        if not wait:
            return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, stdin=subprocess.DEVNULL)
        return invoke_fork.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def deploy(self, *args: str, **kw) -> tuple[subprocess.CompletedProcess, dict]:
        proc = self.invoke("deploy.phase2", "--json", *args, **kw)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError(f"no JSON from deploy.phase2 (exit {proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}") from None
        return proc, doc

    # -- what the hosts say ------------------------------------------------------------------
    def current(self, host) -> str | None:
        res = host.run(f"readlink {APP_DIR}/current", check=False)
        return os.path.basename(res.stdout.strip()) if res.returncode == 0 else None

    def health(self, host) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://{host.address}:{self.port}/health", timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            return None

    def versions(self) -> list[str | None]:
        return [(self.health(h) or {}).get("version") for h in self.fleet.hosts]

    def build_tree(self, tmp: Path, name: str, api_py: str | None = None) -> Path:
        """A release folder as CI would build it (for --artifact); api_py replaces the API."""
        out = tmp / name
        proc = subprocess.run([str(PYTHON), "-m", "marketplace.build", "--out", str(out)], cwd=STANDIN,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        if api_py is not None:
            (out / "marketplace" / "api.py").write_text(api_py)
        return out

    def releases_on(self, host) -> list[str]:
        return host.run(f"ls {APP_DIR}/releases").stdout.split()


def make_project(tmp_path: Path, fleet, manager: str = "supervisor", batches: dict | None = None,
                 extra: dict | None = None, smoke: str | None = None) -> Project:
    need_process_manager(manager)
    port = 3300 + os.getpid() % 500
    environment = fleet_environment(fleet, roles=("api",), batches=batches or {"size": 3, "max_fail": 0})
    environment["env"]["JWT_SECRET"] = "${%s}" % SECRET_VAR
    environment["secrets"] = [SECRET_VAR]
    environment["keep_releases"] = 3
    environment["process"] = ({"manager": "supervisor"} if manager == "supervisor" else
                              {"manager": "pm2", "pm2_bin": str(PM2), "pm2_home": "/run/pm2"})
    if manager == "supervisor":
        environment["process"]["bin_dir"] = str(VENV_BIN)
    environment["apps"] = {"api": {
        "process": "marketplace-api", "role": "api", "source": str(STANDIN),
        "start": f"{PYTHON} -m marketplace.api --env-file {{env_file}}", "port": port,
        "commands": {"build": f"{PYTHON} -m marketplace.build --out {{out}}"},
    }}
    environment.update(extra or {})
    root = make_root(tmp_path / "project", "fleet", environment)
    (root / "checks" / "smoke.yaml").write_text(smoke or FAST_SMOKE)
    (root / "db.sqlite").touch()  # the journal and lock database (never created by the pipeline)
    with ThreadPoolExecutor(max_workers=8) as pool:   # 32 hosts: one python start each
        list(pool.map(seed_database, fleet.hosts))
    return Project(root, fleet, manager, port)


# The shipped checks with a quicker health policy: tests wait for many gates.
# An API that starts, listens where the real one would, and answers every request with 500.
API_UNHEALTHY = textwrap.dedent("""
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    def main():
        values = dict(line.split("=", 1) for line in open(sys.argv[sys.argv.index("--env-file") + 1])
                      if "=" in line and not line.startswith("#"))
        class Broken(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b'{"status": "error"}')
            def log_message(self, *args):
                pass
        HTTPServer((values["HOST"].strip(), int(values["PORT"])), Broken).serve_forever()

    if __name__ == "__main__":
        main()
""")
# An API whose start command fails at once.
API_CRASHES = "raise SystemExit('this release cannot start')\n"

FAST_SMOKE = (REPO / "checks" / "smoke.yaml").read_text() \
    .replace("deadline: 60s", "deadline: 8s").replace("max_interval: 2s", "max_interval: 500ms")


def wait_for(predicate, timeout: float = 10, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def journal_events(project: Project, phase: str) -> list[tuple]:
    db = sqlite3.connect(project.root / "db.sqlite")
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'deploy_events'").fetchone():
            return []
        return db.execute("SELECT action, host, outcome, details FROM deploy_events WHERE phase = ? ORDER BY id",
                          (phase,)).fetchall()
    finally:
        db.close()

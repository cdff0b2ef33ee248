"""Throwaway project roots with an environment file, for tests that run tasks for real."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
# A valid env file for the apps (checks/preflight.yaml rules); the secret is a test value.
TEST_JWT_SECRET = "test-jwt-secret-" + "x" * 32
APP_ENV = {
    "JWT_SECRET": TEST_JWT_SECRET,
    "DATABASE_URL": "sqlite:////srv/marketplace/shared/marketplace.db",
    "RATE_LIMIT_WINDOW_MS": "60000",
    "RATE_LIMIT_MAX_REQUESTS": "1000",
}


def make_root(root: Path, name: str, environment: dict[str, Any]) -> Path:
    """A project root (for DEPLOY_ROOT) holding environments/<name>.yaml, checks/ and sql/."""
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "environments" / f"{name}.yaml").write_text(yaml.safe_dump(environment, sort_keys=False))
    for folder in ("checks", "sql"):
        if (REPO / folder).is_dir() and not (root / folder).exists():
            shutil.copytree(REPO / folder, root / folder)
    return root


def fleet_environment(fleet, *, roles=("api", "web"), batches=None, extra=None,
                      known_hosts: Path | None = None) -> dict[str, Any]:
    """An environment over the test fleet's sshd hosts (keys verified against known_hosts)."""
    env: dict[str, Any] = {
        "description": "test fleet",
        "deploy_to": "/srv/marketplace",
        "ssh": {
            "user": "root",
            "key_file": str(fleet.client_key),
            "known_hosts": str(known_hosts or fleet.known_hosts),
            "connect_timeout": 5,
            "command_timeout": 60,
        },
        "hosts": [{"name": h.name, "address": h.address, "port": h.port, "roles": list(roles)}
                  for h in fleet.hosts],
        "batches": batches or {"size": 1, "max_fail": 0},
        "database": {"dialect": "sqlite", "path": "db.sqlite"},
        "env": dict(APP_ENV),
    }
    env.update(extra or {})
    return env

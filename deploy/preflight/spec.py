"""checks/preflight.yaml -> a validated spec, and the env-var rules (pure)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field

from deploy.config.environment import Duration, Environment, Model, read_yaml, validate
from deploy.errors import ConfigError
from deploy.secrets import reveal
from deploy.preflight.sections import SECTIONS  # noqa: F401 (the checklist's sections, re-exported)
from deploy.config.shipped import project_path


class EnvRule(Model):
    required: bool = False
    min_length: int | None = Field(None, ge=1)
    kind: Literal["database_url", "positive_int", "percentage", "text"] = "text"


class CommandsSpec(Model):
    run: tuple[Literal["test", "typecheck", "build"], ...] = ("test", "typecheck", "build")
    timeout: Duration = 900


class HostsSpec(Model):
    min_cpus: int = Field(1, ge=1)
    min_free_memory_mb: float = Field(256, ge=0)
    min_free_disk_mb: float = Field(1024, ge=0)
    max_clock_skew: Duration = 5


class TlsSpec(Model):
    min_days_valid: int = Field(14, ge=0)


class PreflightSpec(Model):
    env: dict[str, EnvRule] = {}
    commands: CommandsSpec = CommandsSpec()
    hosts: HostsSpec = HostsSpec()
    tls: TlsSpec = TlsSpec()


def load_spec(root: Path) -> PreflightSpec:
    file = project_path(root, "checks/preflight.yaml")
    if not file.is_file():
        return PreflightSpec()
    return validate(PreflightSpec, read_yaml(file, "checks/preflight.yaml") or {}, "checks/preflight.yaml")


def database_url_problem(url: str) -> str | None:
    """None when the runbook's DATABASE_URL forms parse: sqlite:///, sqlserver://, postgres(ql)://, ODBC."""
    if url.startswith("sqlite:///"):
        return None if len(url) > len("sqlite:///") else "sqlite URL has no path"
    if url.startswith("sqlserver://"):
        # Prisma's form: sqlserver://HOST:PORT;database=NAME;key=value...
        head, *params = url[len("sqlserver://"):].split(";")
        keys = {p.split("=", 1)[0].strip().lower() for p in params if "=" in p}
        if not head or "database" not in keys:
            return "sqlserver URL needs host and database= (sqlserver://HOST:PORT;database=NAME)"
        return None
    if url.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(url)
        return None if parsed.hostname and parsed.path.strip("/") else "postgres URL needs host and database"
    if re.search(r"(?i)\bdriver\s*=", url):
        return None
    return "not a recognised database URL (sqlite:///, sqlserver://, postgresql:// or an ODBC string)"


def check_value(name: str, value: str | None, rule: EnvRule) -> str | None:
    """The problem with one env var, or None. Never includes the value (it may be secret)."""
    if value is None or value == "":
        return f"{name} is missing" if rule.required else None
    if rule.min_length and len(value) < rule.min_length:
        return f"{name} is too short ({len(value)} chars, needs at least {rule.min_length})"
    if rule.kind == "positive_int" and not (value.isdigit() and int(value) > 0):
        return f"{name} must be a positive integer"
    if rule.kind == "percentage" and not (value.isdigit() and 0 <= int(value) <= 100):
        return f"{name} must be an integer from 0 to 100"
    if rule.kind == "database_url":
        problem = database_url_problem(value)
        if problem:
            return f"{name}: {problem}"
    return None


def env_problems(env: Environment, spec: PreflightSpec) -> list[tuple[str, str, str | None]]:
    """(app, var, problem-or-None) for every rule and every app env file."""
    rows = []
    for app in env.apps or {}:
        values = env.app_env(app)
        for var, rule in spec.env.items():
            raw = values.get(var)
            rows.append((app, var, check_value(var, None if raw is None else reveal(raw), rule)))
    return rows


def enforce_env_rules(env: Environment, spec: PreflightSpec) -> None:
    """Refuse to go on with a bad env var: exit 2, naming the file, app and variable."""
    for app, var, problem in env_problems(env, spec):
        if problem:
            raise ConfigError(f"{env.source_file}: apps.{app} env: {problem}")

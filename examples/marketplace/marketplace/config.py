"""Settings for both processes, validated once at start.

A bad value stops the process before it binds a port, with one line naming the variable, so
the pipeline's health gate fails fast and the operator sees which key in the env file to fix.
Secrets (JWT_SECRET, the password inside DATABASE_URL) never reach a log or an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from . import dburl
from .logs import normalise_level

RELEASE_ROOT = Path(__file__).resolve().parent.parent
NODE_ENVS = ("development", "production", "test", "staging")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class ConfigError(ValueError):
    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class Secret:
    """A string that prints as *** so it cannot leak through repr(), logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class FlagSettings:
    enabled: bool = False
    percentage: int = 100
    name: str = "rating"

    def as_json(self) -> dict:
        return {"enabled": self.enabled, "percentage": self.percentage, "name": self.name}


@dataclass(frozen=True)
class Settings:
    app: str
    host: str
    port: int
    version: str
    flag: FlagSettings
    log_level: str
    node_env: str
    database: dburl.DatabaseTarget | None
    jwt_secret: Secret | None = field(default=None, repr=False)
    rate_window_ms: int = 900_000
    rate_max_requests: int = 100
    api_base_url: str = ""
    cors_origin: str = "*"
    trust_proxy: bool = False


def read_version(env: Mapping[str, str], root: Path = RELEASE_ROOT) -> str:
    try:
        text = (root / "VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or env.get("APP_VERSION", "").strip() or "dev"


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(key, f"must be true or false (got {raw!r})")


def _int(env: Mapping[str, str], key: str, default: int, low: int, high: int | None = None) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(key, f"must be an integer (got {raw!r})") from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(key, f"must be {bounds} (got {value})")
    return value


def load_flag(env: Mapping[str, str]) -> FlagSettings:
    name = env.get("RATING_FLAG_NAME", "").strip() or "rating"
    if ":" in name:
        # The bucketing key is "<flag>:<user>"; a colon in the name would make it ambiguous.
        raise ConfigError("RATING_FLAG_NAME", "must not contain ':'")
    return FlagSettings(
        enabled=_bool(env, "ENABLE_RATING_FEATURE", False),
        percentage=_int(env, "RATING_ROLLOUT_PERCENTAGE", 100, 0, 100),
        name=name,
    )


def _database(env: Mapping[str, str]) -> dburl.DatabaseTarget:
    raw = env.get("DATABASE_URL", "")
    if not raw.strip():
        raise ConfigError("DATABASE_URL", "is required")
    try:
        return dburl.parse(raw)
    except dburl.DatabaseUrlError as exc:
        raise ConfigError("DATABASE_URL", str(exc)) from None


def load(app: str, env: Mapping[str, str], root: Path = RELEASE_ROOT) -> Settings:
    """Validate everything `app` ("api" or "web") needs; raise ConfigError on the first problem."""
    host = env.get("HOST", "").strip() or "127.0.0.1"
    if app == "web":
        port_key = "WEB_PORT" if env.get("WEB_PORT", "").strip() else "PORT"
        port = _int(env, port_key, 3001, 0, 65535)
    else:
        port = _int(env, "PORT", 3000, 0, 65535)
    level = normalise_level(env.get("LOG_LEVEL", "") or "info")
    if level is None:
        raise ConfigError("LOG_LEVEL", "must be one of trace, debug, info, warn, error, fatal, silent")
    node_env = env.get("NODE_ENV", "").strip() or "development"
    if node_env not in NODE_ENVS:
        raise ConfigError("NODE_ENV", f"must be one of {', '.join(NODE_ENVS)} (got {node_env!r})")
    secret = None
    if app == "api":
        raw_secret = env.get("JWT_SECRET", "")
        if not raw_secret.strip():
            raise ConfigError("JWT_SECRET", "is required")
        secret = Secret(raw_secret)
    return Settings(
        app=app,
        host=host,
        port=port,
        version=read_version(env, root),
        flag=load_flag(env),
        log_level=level,
        node_env=node_env,
        database=_database(env),
        jwt_secret=secret,
        rate_window_ms=_int(env, "RATE_LIMIT_WINDOW_MS", 900_000, 1),
        rate_max_requests=_int(env, "RATE_LIMIT_MAX_REQUESTS", 100, 1),
        api_base_url=env.get("API_BASE_URL", "").strip().rstrip("/"),
        cors_origin=env.get("CORS_ORIGIN", "").strip() or "*",
        trust_proxy=_bool(env, "TRUST_PROXY", False),
    )

"""Start-up shared by the API and web processes: flags, env file, settings, logger, database."""

from __future__ import annotations

import argparse
import sys
import time
from typing import NoReturn

from . import config, envfile
from .db import Database
from .httpkit import App, serve as serve_http
from .logs import Logger
from .metrics import AppMetrics

STARTED = time.time()


def arg_parser(app: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python3 -m marketplace.{app}")
    parser.add_argument("--env-file", help="KEY=VALUE file; process environment overrides it")
    return parser


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def load_env(path: str | None) -> dict[str, str]:
    try:
        return envfile.load(path)
    except envfile.EnvFileError as exc:
        fail(str(exc))


def load_settings(app: str, env: dict[str, str]) -> config.Settings:
    try:
        return config.load(app, env)
    except config.ConfigError as exc:
        fail(str(exc))


def runtime(settings: config.Settings) -> tuple[Logger, Database, AppMetrics]:
    logger = Logger(settings.app, settings.log_level)
    try:
        database = Database(settings.database)
    except ImportError:
        fail("DATABASE_URL: an ODBC connection string needs the pyodbc package")
    metrics = AppMetrics(settings.app, settings.version, settings.flag.percentage, settings.flag.enabled)
    if settings.jwt_secret is not None and len(settings.jwt_secret.reveal()) < 32:
        logger.warn("JWT_SECRET is shorter than 32 characters", node_env=settings.node_env)
    return logger, database, metrics


def announce(settings: config.Settings) -> dict:
    """What the 'listening' log line says about this process; no secrets in it."""
    return {
        "version": settings.version,
        "node_env": settings.node_env,
        "database": settings.database.masked() if settings.database else None,
        "dialect": settings.database.dialect if settings.database else None,
        "flag": settings.flag.as_json(),
    }


def health_payload(settings: config.Settings, database_status: str) -> tuple[int, dict]:
    unreachable = database_status == "unreachable"
    payload = {
        "status": "error" if unreachable else "ok",
        "version": settings.version,
        "app": settings.app,
        "flag": settings.flag.as_json(),
        "database": database_status,
        "uptimeSeconds": round(time.time() - STARTED, 1),
    }
    return (503 if unreachable else 200), payload


def serve(app: App, settings: config.Settings, logger: Logger, database: Database | None) -> int:
    return serve_http(app, settings.host, settings.port, logger,
                      on_stop=database.close if database else None, announce=announce(settings))

"""The stand-in's `prisma generate`: after a migration, prove the app's data client matches the
database it will talk to.

`python3 -m marketplace.client --database-url URL` (or --env-file) connects as the app does,
probes every table and column the app's queries use, and exits 0 only when the rating schema is
there (1 when it is missing or the database is unreachable). The deploy pipeline runs it as the
post-migrate hook, where production runs `npx prisma generate`.
"""

from __future__ import annotations

import argparse
import sys

from . import envfile
from .db import SCHEMA_OK, UNREACHABLE, Database
from .dburl import DatabaseUrlError, parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m marketplace.client")
    parser.add_argument("--database-url", help="sqlite:///path or ODBC string (default: DATABASE_URL)")
    parser.add_argument("--env-file", help="read DATABASE_URL from this env file")
    args = parser.parse_args(argv)
    url = args.database_url or envfile.load(args.env_file).get("DATABASE_URL", "")
    try:
        target = parse(url)
    except DatabaseUrlError as exc:
        print(f"error: DATABASE_URL {exc}", file=sys.stderr)
        return 2
    database = Database(target)
    try:
        state = database.status()
    finally:
        database.close()
    if state == SCHEMA_OK:
        print(f"client ready: {target.dialect} schema has everything the rating endpoints use")
        return 0
    reason = "database unreachable" if state == UNREACHABLE else "the rating schema is missing"
    print(f"client not ready: {reason} ({target.masked()})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Seller-rating aggregates: the set-based backfill, the discrepancy check and the listings.

The SQL lives in sql/<dialect>/ (the files operators can read and run by hand); this module runs
it and types the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from deploy.db.connect import Database, QueryFailed
from deploy.errors import ConfigError, StepFailed
from deploy.config.shipped import shipped

SQL_ROOT = shipped("sql")


@dataclass(frozen=True)
class Discrepancy:
    seller_id: int
    seller_name: str
    stored_total: int
    actual_total: int
    stored_positive: int
    actual_positive: int
    stored_average: Decimal | None
    actual_average: Decimal | None


@dataclass(frozen=True)
class TopSeller:
    id: int
    full_name: str
    total_ratings: int
    seller_rating: Decimal | None


def sql_file(dialect: str, name: str, sql_root: Path | None = None) -> str:
    path = Path(sql_root or SQL_ROOT) / dialect / name
    if not path.is_file():
        raise ConfigError(f"missing SQL file {path}")
    return path.read_text(encoding="utf-8-sig")


def backfill(db: Database, sql_root: Path | None = None) -> int:
    """Run backfill-rating-aggregates.sql in one transaction; the number of users changed.

    All or nothing: a failure (the session dropped too) commits no aggregate, and the set-based
    recompute writes only rows that differ, so a re-run applies each change exactly once."""
    changed = 0
    pieces = db.pieces(sql_file(db.dialect, "backfill-rating-aggregates.sql", sql_root))
    try:
        with db.transaction():
            for piece in pieces:
                count = db.execute(piece)
                changed += max(count, 0)
    except QueryFailed as exc:
        raise StepFailed(f"backfill failed: {exc}; rolled back, no aggregate changed "
                         "(re-run deploy.phase4)") from None
    return changed


def discrepancies(db: Database, sql_root: Path | None = None) -> list[Discrepancy]:
    """Users whose stored aggregates disagree with their ratings (empty = all consistent)."""
    rows = db.query(_only_statement(db, "verify-aggregates.sql", sql_root))
    return [Discrepancy(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]),
                        _decimal(r[6]), _decimal(r[7])) for r in rows]


def top_sellers(db: Database, n: int = 10, sql_root: Path | None = None) -> list[TopSeller]:
    rows = db.query(_only_statement(db, "top-sellers.sql", sql_root), (int(n),))
    return [TopSeller(int(r[0]), str(r[1]), int(r[2]), _decimal(r[3])) for r in rows]


def count_ratings(db: Database) -> int:
    table = "dbo.SellerRatings" if db.dialect == "mssql" else '"SellerRatings"'
    return int(db.scalar(f"SELECT COUNT(*) FROM {table}"))


def _only_statement(db: Database, name: str, sql_root: Path | None) -> str:
    pieces = db.pieces(sql_file(db.dialect, name, sql_root))
    if len(pieces) != 1:
        raise ConfigError(f"sql/{db.dialect}/{name}: expected one statement, found {len(pieces)}")
    return pieces[0]


def _decimal(value: object) -> Decimal | None:
    """Averages as Decimal with 2 places, whatever the driver returned (float, str, Decimal)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))

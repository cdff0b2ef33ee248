"""Schema verification against checks/schema.yaml on real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.db import schema
from deploy.db.connect import connect

pytestmark = pytest.mark.integration
SPEC = Path(__file__).resolve().parents[2] / "checks" / "schema.yaml"


def test_verify_passes_after_migrate_and_names_a_dropped_index(migrated_target):
    config, root = migrated_target
    with connect(config, root) as db:
        assert schema.verify(db, SPEC) == []
        db.execute('DROP INDEX "UX_SellerRatings_SellerId_RaterId"')
        assert schema.verify(db, SPEC) == ["missing unique index on SellerRatings(SellerId, RaterId)"]
        db.execute('CREATE INDEX "IX_plain" ON "SellerRatings" ("SellerId", "RaterId")')
        assert schema.verify(db, SPEC) == [
            "SellerRatings(SellerId, RaterId): expected a unique index, found IX_plain (not unique)"]


def test_verify_before_migrate_lists_what_is_missing(db_target):
    config, root = db_target
    with connect(config, root) as db:
        found = schema.verify(db, SPEC)
    assert "missing table SellerRatings" in found
    assert "missing column Users.TotalRatings" in found


def test_nullability_and_type_differences(migrated_target):
    config, root = migrated_target
    with connect(config, root) as db:
        if db.dialect == "postgres":
            db.execute('ALTER TABLE "SellerRatings" ALTER COLUMN "Rating" DROP NOT NULL')
            db.execute('ALTER TABLE "SellerRatings" ALTER COLUMN "Comment" TYPE INTEGER USING NULL')
        else:
            db.script('''
                CREATE TABLE "SR2" ("Id" INTEGER PRIMARY KEY, "SellerId" INTEGER NOT NULL,
                    "RaterId" INTEGER NOT NULL, "Rating" INTEGER NULL, "Comment" INTEGER NULL,
                    "CreatedAt" DATETIME NOT NULL, "UpdatedAt" DATETIME NOT NULL);
                DROP TABLE "SellerRatings";
                ALTER TABLE "SR2" RENAME TO "SellerRatings";
                CREATE UNIQUE INDEX "UX" ON "SellerRatings" ("SellerId", "RaterId");
                CREATE INDEX "I1" ON "SellerRatings" ("SellerId", "CreatedAt");
                CREATE INDEX "I2" ON "SellerRatings" ("RaterId");
                CREATE INDEX "I3" ON "SellerRatings" ("CreatedAt");
            ''')
        found = schema.verify(db, SPEC)
    assert "SellerRatings.Rating: expected NOT NULL, found NULL" in found
    assert any(f.startswith("SellerRatings.Comment: expected text, found integer") for f in found)
    assert len(found) == 2

-- Seller ratings: one rating per (seller, rater), 1..5, plus the sellers' aggregates on Users.
-- Same logical schema as sql/postgres and sql/mssql. Needs SQLite >= 3.35 (DROP COLUMN in the down file).

CREATE TABLE "SellerRatings" (
    "Id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "SellerId" INTEGER NOT NULL REFERENCES "Users" ("Id"),
    "RaterId" INTEGER NOT NULL REFERENCES "Users" ("Id"),
    "Rating" INTEGER NOT NULL CONSTRAINT "CK_SellerRatings_Rating" CHECK ("Rating" BETWEEN 1 AND 5),
    "Comment" TEXT NULL,
    "CreatedAt" DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "UpdatedAt" DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- one rating per rater and seller; also serves lookups by seller
CREATE UNIQUE INDEX "UX_SellerRatings_SellerId_RaterId" ON "SellerRatings" ("SellerId", "RaterId");
-- a seller's ratings, newest first
CREATE INDEX "IX_SellerRatings_SellerId_CreatedAt" ON "SellerRatings" ("SellerId", "CreatedAt");
CREATE INDEX "IX_SellerRatings_RaterId" ON "SellerRatings" ("RaterId");
CREATE INDEX "IX_SellerRatings_CreatedAt" ON "SellerRatings" ("CreatedAt");

ALTER TABLE "Users" ADD COLUMN "SellerRating" REAL NULL;
ALTER TABLE "Users" ADD COLUMN "TotalRatings" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Users" ADD COLUMN "PositiveRatings" INTEGER NOT NULL DEFAULT 0;

-- Mirrors the pipeline's add_seller_ratings migration, so the app's tests need no pipeline.
CREATE TABLE "SellerRatings" (
    "Id"        INTEGER PRIMARY KEY AUTOINCREMENT,
    "SellerId"  INTEGER NOT NULL REFERENCES "Users" ("Id"),
    "RaterId"   INTEGER NOT NULL REFERENCES "Users" ("Id"),
    "Rating"    INTEGER NOT NULL CHECK ("Rating" BETWEEN 1 AND 5),
    "Comment"   TEXT NULL,
    "CreatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "UpdatedAt" DATETIME NOT NULL,
    CONSTRAINT "UQ_SellerRatings_Seller_Rater" UNIQUE ("SellerId", "RaterId")
);

CREATE INDEX "IX_SellerRatings_RaterId" ON "SellerRatings" ("RaterId");

ALTER TABLE "Users" ADD COLUMN "SellerRating" DECIMAL(3, 2) NULL;

ALTER TABLE "Users" ADD COLUMN "TotalRatings" INTEGER NOT NULL DEFAULT 0;

ALTER TABLE "Users" ADD COLUMN "PositiveRatings" INTEGER NOT NULL DEFAULT 0;

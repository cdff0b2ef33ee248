-- Reverts 20240101000000_add_seller_ratings.sql. Loses every rating: back up first.

DROP INDEX IF EXISTS "IX_SellerRatings_CreatedAt";
DROP INDEX IF EXISTS "IX_SellerRatings_RaterId";
DROP INDEX IF EXISTS "IX_SellerRatings_SellerId_CreatedAt";
DROP INDEX IF EXISTS "UX_SellerRatings_SellerId_RaterId";
DROP TABLE "SellerRatings";

-- ALTER TABLE ... DROP COLUMN: SQLite 3.35+
ALTER TABLE "Users" DROP COLUMN "PositiveRatings";
ALTER TABLE "Users" DROP COLUMN "TotalRatings";
ALTER TABLE "Users" DROP COLUMN "SellerRating";

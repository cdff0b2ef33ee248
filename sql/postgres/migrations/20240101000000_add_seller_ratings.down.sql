-- Reverts 20240101000000_add_seller_ratings.sql. Loses every rating: back up first.

DROP TABLE "SellerRatings";   -- its indexes and constraints go with it

ALTER TABLE "Users"
    DROP COLUMN "PositiveRatings",
    DROP COLUMN "TotalRatings",
    DROP COLUMN "SellerRating";

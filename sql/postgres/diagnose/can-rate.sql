-- The can-rate check (GET /api/v1/ratings/can-rate/:id, and every new rating): has this rater
-- already rated this seller? Served by the unique index UX_SellerRatings_SellerId_RaterId.

SELECT "Id"
FROM "SellerRatings"
WHERE "SellerId" = :seller_id AND "RaterId" = :rater_id;

-- The seller and rater of the newest rating: a real pair for db.diagnose to explain the app's
-- queries with, found through the primary key (no scan of the table).

SELECT "SellerId", "RaterId"
FROM "SellerRatings"
ORDER BY "Id" DESC
LIMIT 1;

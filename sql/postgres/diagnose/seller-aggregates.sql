-- A seller's aggregates as the app recomputes them after every rating write: count, positive
-- (4 and 5 stars) and average, by SellerId. Served by any index that starts with SellerId.

SELECT COUNT(*) AS total_ratings,
       SUM(CASE WHEN "Rating" >= 4 THEN 1 ELSE 0 END) AS positive_ratings,
       ROUND(AVG(CAST("Rating" AS DECIMAL(10, 4))), 2) AS average_rating
FROM "SellerRatings"
WHERE "SellerId" = :seller_id;

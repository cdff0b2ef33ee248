-- Active sellers (a completed order as seller since :since) and how many of them have at least
-- :min_ratings ratings (all time): the 90-day goal "80% of active sellers have >= 3 ratings".

SELECT c.active_sellers,
       c.sellers_with_min_ratings,
       ROUND(c.sellers_with_min_ratings * 100.0 / NULLIF(c.active_sellers, 0), 2) AS coverage
FROM (
    SELECT COUNT(*) AS active_sellers,
           COALESCE(SUM(CASE WHEN COALESCE(r.total, 0) >= :min_ratings THEN 1 ELSE 0 END), 0)
               AS sellers_with_min_ratings
    FROM (SELECT DISTINCT o."SellerId" AS seller_id FROM "Orders" AS o
          WHERE o."Status" = 'completed' AND o."CreatedAt" >= :since) AS s
    LEFT JOIN (SELECT "SellerId", COUNT(*) AS total FROM "SellerRatings" GROUP BY "SellerId") AS r
           ON r."SellerId" = s.seller_id
) AS c;

-- Rating participation since :since (the epoch for all time):
--   the runbook's rate: distinct raters / all users;
--   the success criterion's rate: of the buyers with a completed order since :since, the share
--   who rated a seller since :since.

SELECT c.users_who_rated,
       c.total_users,
       ROUND(c.users_who_rated * 100.0 / NULLIF(c.total_users, 0), 2) AS participation_rate,
       c.buyers_with_completed_orders,
       c.buyers_who_rated,
       ROUND(c.buyers_who_rated * 100.0 / NULLIF(c.buyers_with_completed_orders, 0), 2) AS buyer_participation_rate
FROM (
    SELECT (SELECT COUNT(DISTINCT r."RaterId") FROM "SellerRatings" AS r
            WHERE r."CreatedAt" >= :since) AS users_who_rated,
           (SELECT COUNT(*) FROM "Users") AS total_users,
           (SELECT COUNT(DISTINCT o."BuyerId") FROM "Orders" AS o
            WHERE o."Status" = 'completed' AND o."CreatedAt" >= :since) AS buyers_with_completed_orders,
           (SELECT COUNT(*) FROM (
                SELECT DISTINCT o."BuyerId" FROM "Orders" AS o
                WHERE o."Status" = 'completed' AND o."CreatedAt" >= :since
                  AND EXISTS (SELECT 1 FROM "SellerRatings" AS r
                              WHERE r."RaterId" = o."BuyerId" AND r."CreatedAt" >= :since)
            ) AS b) AS buyers_who_rated
) AS c;

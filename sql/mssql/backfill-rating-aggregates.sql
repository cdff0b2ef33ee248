-- Recompute every user's seller aggregates from dbo.SellerRatings in one set-based statement.
-- Idempotent: only rows whose stored values differ are written, so a second run changes 0 rows.
-- SellerRating = average rating rounded to 2 places (NULL without ratings);
-- PositiveRatings counts ratings >= 4.

SET NOCOUNT OFF;

UPDATE u
SET TotalRatings = a.total,
    PositiveRatings = a.positive,
    SellerRating = a.average
FROM dbo.Users AS u
JOIN (
    SELECT x.Id AS id,
           COALESCE(s.total, 0) AS total,
           COALESCE(s.positive, 0) AS positive,
           s.average
    FROM dbo.Users AS x
    LEFT JOIN (
        SELECT SellerId,
               COUNT(*) AS total,
               SUM(CASE WHEN Rating >= 4 THEN 1 ELSE 0 END) AS positive,
               CAST(ROUND(AVG(CAST(Rating AS DECIMAL(9, 4))), 2) AS DECIMAL(3, 2)) AS average
        FROM dbo.SellerRatings
        GROUP BY SellerId
    ) AS s ON s.SellerId = x.Id
) AS a ON a.id = u.Id
WHERE u.TotalRatings <> a.total
   OR u.PositiveRatings <> a.positive
   OR u.SellerRating <> a.average
   OR (u.SellerRating IS NULL AND a.average IS NOT NULL)
   OR (u.SellerRating IS NOT NULL AND a.average IS NULL);

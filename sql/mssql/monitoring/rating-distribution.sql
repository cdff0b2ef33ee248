-- Rating distribution with percentages of all ratings created since :since (runbook: "Rating
-- distribution"; monitor.metrics binds the epoch, i.e. all ratings). Stars without ratings are
-- absent here and filled in with 0 by the caller.

SELECT Rating AS rating,
       COUNT(*) AS ratings,
       CAST(COUNT(*) * 100.0 / SUM(COUNT(*)) OVER () AS DECIMAL(5, 2)) AS percentage
FROM dbo.SellerRatings
WHERE CreatedAt >= :since
GROUP BY Rating
ORDER BY Rating DESC;

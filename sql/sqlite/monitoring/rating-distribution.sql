-- Rating distribution with percentages of all ratings created since :since (runbook: "Rating
-- distribution"; monitor.metrics binds the epoch, i.e. all ratings). Stars without ratings are
-- absent here and filled in with 0 by the caller.

SELECT "Rating" AS rating,
       COUNT(*) AS ratings,
       ROUND(COUNT(*) * 100.0 / SUM(COUNT(*)) OVER (), 2) AS percentage
FROM "SellerRatings"
WHERE julianday("CreatedAt") >= julianday(:since)
GROUP BY "Rating"
ORDER BY "Rating" DESC;

-- Ratings created per day (UTC) since :since, newest first (runbook: "Total ratings created (daily)").
-- monitor.metrics binds :since to midnight UTC of the first of the last --days days, so every
-- day shown is a whole calendar day except today; days without ratings are filled in by the caller.

SELECT CAST("CreatedAt" AS DATE) AS rating_date,
       COUNT(*) AS ratings_created
FROM "SellerRatings"
WHERE "CreatedAt" >= :since
GROUP BY CAST("CreatedAt" AS DATE)
ORDER BY rating_date DESC;

-- Rating activity per ISO week (Monday start, UTC) since :since, newest first, with the average
-- rating (runbook: "Rating activity by week"; DATEPART(week) differed per server setting, the
-- week's Monday does not).

SELECT CAST(date_trunc('week', "CreatedAt") AS DATE) AS week_start,
       COUNT(*) AS ratings,
       ROUND(AVG("Rating"), 2) AS average_rating
FROM "SellerRatings"
WHERE "CreatedAt" >= :since
GROUP BY CAST(date_trunc('week', "CreatedAt") AS DATE)
ORDER BY week_start DESC;

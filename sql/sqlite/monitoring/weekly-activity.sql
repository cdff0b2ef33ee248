-- Rating activity per ISO week (Monday start, UTC) since :since, newest first, with the average
-- rating (runbook: "Rating activity by week"). date(t, 'weekday 0', '-6 days') is the Monday of
-- t's week: 'weekday 0' moves forward to Sunday (or stays on one).

SELECT date("CreatedAt", 'weekday 0', '-6 days') AS week_start,
       COUNT(*) AS ratings,
       ROUND(AVG("Rating"), 2) AS average_rating
FROM "SellerRatings"
WHERE julianday("CreatedAt") >= julianday(:since)
GROUP BY date("CreatedAt", 'weekday 0', '-6 days')
ORDER BY week_start DESC;

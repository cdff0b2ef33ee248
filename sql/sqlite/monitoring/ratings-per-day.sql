-- Ratings created per day (UTC) since :since, newest first (runbook: "Total ratings created (daily)").
-- monitor.metrics binds :since to midnight UTC of the first of the last --days days, so every
-- day shown is a whole calendar day except today; days without ratings are filled in by the caller.
-- SQLite keeps times as text in more than one format ('... ...' and '...T...Z'): julianday()
-- and date() read both, a plain text comparison would not.

SELECT date("CreatedAt") AS rating_date,
       COUNT(*) AS ratings_created
FROM "SellerRatings"
WHERE julianday("CreatedAt") >= julianday(:since)
GROUP BY date("CreatedAt")
ORDER BY rating_date DESC;

-- Ratings per rolling hour before :now (hours_ago 0 = the last 60 minutes), back to :since.
-- monitor.alerts compares the last hour with the median of the trailing hours (a spike may be
-- abuse); hours without ratings are absent here and count as 0 in the caller.

SELECT t.hours_ago,
       COUNT(*) AS ratings
FROM (
    SELECT CAST((julianday(:now) - julianday(r."CreatedAt")) * 24 AS INTEGER) AS hours_ago
    FROM "SellerRatings" AS r
    WHERE julianday(r."CreatedAt") >= julianday(:since) AND julianday(r."CreatedAt") < julianday(:now)
) AS t
GROUP BY t.hours_ago
ORDER BY t.hours_ago;

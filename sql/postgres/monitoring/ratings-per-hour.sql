-- Ratings per rolling hour before :now (hours_ago 0 = the last 60 minutes), back to :since.
-- monitor.alerts compares the last hour with the median of the trailing hours (a spike may be
-- abuse); hours without ratings are absent here and count as 0 in the caller.

SELECT t.hours_ago,
       COUNT(*) AS ratings
FROM (
    SELECT CAST(FLOOR(EXTRACT(EPOCH FROM (CAST(:now AS TIMESTAMP) - r."CreatedAt")) / 3600) AS INTEGER) AS hours_ago
    FROM "SellerRatings" AS r
    WHERE r."CreatedAt" >= :since AND r."CreatedAt" < :now
) AS t
GROUP BY t.hours_ago
ORDER BY t.hours_ago;

-- Rating activity per ISO week (Monday start, UTC) since :since, newest first, with the average
-- rating (runbook: "Rating activity by week"). The runbook's DATEPART(week) depends on
-- @@DATEFIRST; the Monday below does not.

SELECT w.week_start,
       COUNT(*) AS ratings,
       CAST(AVG(CAST(w.Rating AS DECIMAL(9, 4))) AS DECIMAL(4, 2)) AS average_rating
FROM (
    SELECT DATEADD(day, -((DATEPART(weekday, CreatedAt) + @@DATEFIRST - 2) % 7),
                   CAST(CreatedAt AS DATE)) AS week_start,
           Rating
    FROM dbo.SellerRatings
    WHERE CreatedAt >= :since
) AS w
GROUP BY w.week_start
ORDER BY w.week_start DESC;

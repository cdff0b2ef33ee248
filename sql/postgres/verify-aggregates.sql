-- Every user whose stored aggregates disagree with "SellerRatings", in one set-based query
-- (the runbook looped over sellers with two COUNTs each). Also catches users whose stored
-- TotalRatings is 0 although ratings exist. An empty result means zero discrepancies.
-- Averages: stored must be within half a hundredth of the exact average.

SELECT u."Id" AS seller_id,
       u."FullName" AS seller_name,
       u."TotalRatings" AS stored_total,
       COALESCE(s.total, 0) AS actual_total,
       u."PositiveRatings" AS stored_positive,
       COALESCE(s.positive, 0) AS actual_positive,
       u."SellerRating" AS stored_average,
       ROUND(s.average, 2) AS actual_average
FROM "Users" AS u
LEFT JOIN (
    SELECT "SellerId",
           COUNT(*) AS total,
           COUNT(*) FILTER (WHERE "Rating" >= 4) AS positive,
           AVG("Rating") AS average
    FROM "SellerRatings"
    GROUP BY "SellerId"
) AS s ON s."SellerId" = u."Id"
WHERE u."TotalRatings" <> COALESCE(s.total, 0)
   OR u."PositiveRatings" <> COALESCE(s.positive, 0)
   OR (u."SellerRating" IS NULL) <> (s.average IS NULL)
   OR ABS(u."SellerRating" - s.average) > 0.0051
ORDER BY u."Id";

-- Recompute every user's seller aggregates from "SellerRatings" in one set-based statement.
-- Idempotent: only rows whose stored values differ are written, so a second run changes 0 rows.
-- SellerRating = average rating rounded to 2 places (NULL without ratings);
-- PositiveRatings counts ratings >= 4.

UPDATE "Users"
SET "TotalRatings" = a.total,
    "PositiveRatings" = a.positive,
    "SellerRating" = a.average
FROM (
    SELECT u."Id" AS id,
           COUNT(r."Id") AS total,
           COALESCE(SUM(CASE WHEN r."Rating" >= 4 THEN 1 ELSE 0 END), 0) AS positive,
           ROUND(AVG(r."Rating"), 2) AS average
    FROM "Users" AS u
    LEFT JOIN "SellerRatings" AS r ON r."SellerId" = u."Id"
    GROUP BY u."Id"
) AS a
WHERE a.id = "Users"."Id"
  AND ("Users"."TotalRatings" <> a.total
       OR "Users"."PositiveRatings" <> a.positive
       OR "Users"."SellerRating" IS NOT a.average);

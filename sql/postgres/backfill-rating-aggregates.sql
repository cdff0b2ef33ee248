-- Recompute every user's seller aggregates from "SellerRatings" in one set-based statement.
-- Idempotent: only rows whose stored values differ are written, so a second run changes 0 rows.
-- SellerRating = average rating rounded to 2 places (NULL without ratings);
-- PositiveRatings counts ratings >= 4.

UPDATE "Users" AS u
SET "TotalRatings" = a.total,
    "PositiveRatings" = a.positive,
    "SellerRating" = a.average
FROM (
    SELECT x."Id" AS id,
           COALESCE(s.total, 0) AS total,
           COALESCE(s.positive, 0) AS positive,
           s.average
    FROM "Users" AS x
    LEFT JOIN (
        SELECT "SellerId",
               COUNT(*) AS total,
               COUNT(*) FILTER (WHERE "Rating" >= 4) AS positive,
               ROUND(AVG("Rating"), 2) AS average
        FROM "SellerRatings"
        GROUP BY "SellerId"
    ) AS s ON s."SellerId" = x."Id"
) AS a
WHERE a.id = u."Id"
  AND (u."TotalRatings" <> a.total
       OR u."PositiveRatings" <> a.positive
       OR u."SellerRating" IS DISTINCT FROM a.average);

-- The runbook's check after the backfill: the top sellers that have ratings.
-- The row count is bound as the one parameter (deploy.db.aggregates.top_sellers, default 10).

SELECT u."Id", u."FullName", u."TotalRatings", u."SellerRating"
FROM "Users" AS u
WHERE u."TotalRatings" > 0
ORDER BY u."SellerRating" DESC, u."TotalRatings" DESC, u."Id"
LIMIT ?;

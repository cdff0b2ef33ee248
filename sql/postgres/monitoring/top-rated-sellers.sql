-- Top-rated sellers with at least :min_ratings ratings, from the stored aggregates that users see
-- (runbook: "Top-rated sellers", TOP 10 with TotalRatings >= 3).

SELECT u."Id" AS seller_id,
       u."FullName" AS seller_name,
       u."SellerRating" AS seller_rating,
       u."TotalRatings" AS total_ratings,
       u."PositiveRatings" AS positive_ratings
FROM "Users" AS u
WHERE u."TotalRatings" >= :min_ratings
ORDER BY u."SellerRating" DESC NULLS LAST, u."TotalRatings" DESC, u."Id"
LIMIT :limit;

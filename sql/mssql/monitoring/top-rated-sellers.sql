-- Top-rated sellers with at least :min_ratings ratings, from the stored aggregates that users see
-- (runbook: "Top-rated sellers", TOP 10 with TotalRatings >= 3).

SELECT TOP (:limit)
       u.Id AS seller_id,
       u.FullName AS seller_name,
       u.SellerRating AS seller_rating,
       u.TotalRatings AS total_ratings,
       u.PositiveRatings AS positive_ratings
FROM dbo.Users AS u
WHERE u.TotalRatings >= :min_ratings
ORDER BY u.SellerRating DESC, u.TotalRatings DESC, u.Id;

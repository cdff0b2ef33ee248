-- (SellerId, RaterId) pairs rated more than once, and how many ratings are extra. Always 0 while
-- the unique index exists; db.diagnose runs it when that index is missing. Remove the extra rows
-- (keep the newest of each pair) before creating the index again.

SELECT COUNT(*) AS pairs,
       COALESCE(SUM(d.n - 1), 0) AS extra_ratings
FROM (
    SELECT "SellerId", "RaterId", COUNT(*) AS n
    FROM "SellerRatings"
    GROUP BY "SellerId", "RaterId"
    HAVING COUNT(*) > 1
) AS d;

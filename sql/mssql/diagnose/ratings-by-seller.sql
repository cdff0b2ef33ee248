-- The API's "a seller's ratings, newest first" page (GET /api/v1/ratings/seller/:id), as the app
-- runs it. db.diagnose explains it for the newest rating's seller; the index it should use is
-- IX_SellerRatings_SellerId_CreatedAt (seek by seller, read in CreatedAt order, no sort).

SELECT r.Id, r.SellerId, r.RaterId, u.FullName, r.Rating, r.Comment, r.CreatedAt, r.UpdatedAt
FROM dbo.SellerRatings AS r
JOIN dbo.Users AS u ON u.Id = r.RaterId
WHERE r.SellerId = :seller_id
ORDER BY r.CreatedAt DESC, r.Id DESC
OFFSET 0 ROWS FETCH NEXT :limit ROWS ONLY;

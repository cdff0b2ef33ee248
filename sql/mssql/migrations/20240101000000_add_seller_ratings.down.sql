-- Reverts 20240101000000_add_seller_ratings.sql. Loses every rating: back up first.

DROP TABLE dbo.SellerRatings;   -- its indexes and constraints go with it
GO

ALTER TABLE dbo.Users DROP CONSTRAINT DF_Users_PositiveRatings;
ALTER TABLE dbo.Users DROP CONSTRAINT DF_Users_TotalRatings;
GO

ALTER TABLE dbo.Users DROP COLUMN PositiveRatings, TotalRatings, SellerRating;
GO

-- Seller ratings: one rating per (seller, rater), 1..5, plus the sellers' aggregates on dbo.Users.
-- Same logical schema as sql/sqlite and sql/postgres. The runner wraps all batches in one
-- transaction with XACT_ABORT ON; GO separates batches (sqlcmd and deploy.db.tsql agree).

CREATE TABLE dbo.SellerRatings (
    Id INT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_SellerRatings PRIMARY KEY,
    SellerId INT NOT NULL CONSTRAINT FK_SellerRatings_Seller REFERENCES dbo.Users (Id),
    RaterId INT NOT NULL CONSTRAINT FK_SellerRatings_Rater REFERENCES dbo.Users (Id),
    Rating TINYINT NOT NULL CONSTRAINT CK_SellerRatings_Rating CHECK (Rating BETWEEN 1 AND 5),
    Comment NVARCHAR(1000) NULL,
    CreatedAt DATETIME2(3) NOT NULL CONSTRAINT DF_SellerRatings_CreatedAt DEFAULT SYSUTCDATETIME(),
    UpdatedAt DATETIME2(3) NOT NULL CONSTRAINT DF_SellerRatings_UpdatedAt DEFAULT SYSUTCDATETIME()
);
GO

-- one rating per rater and seller; also serves lookups by seller
CREATE UNIQUE INDEX UX_SellerRatings_SellerId_RaterId ON dbo.SellerRatings (SellerId, RaterId);
-- a seller's ratings, newest first
CREATE INDEX IX_SellerRatings_SellerId_CreatedAt ON dbo.SellerRatings (SellerId, CreatedAt);
CREATE INDEX IX_SellerRatings_RaterId ON dbo.SellerRatings (RaterId);
CREATE INDEX IX_SellerRatings_CreatedAt ON dbo.SellerRatings (CreatedAt);
GO

-- named defaults, so the down file can drop them before the columns
ALTER TABLE dbo.Users ADD
    SellerRating DECIMAL(3, 2) NULL,
    TotalRatings INT NOT NULL CONSTRAINT DF_Users_TotalRatings DEFAULT 0,
    PositiveRatings INT NOT NULL CONSTRAINT DF_Users_PositiveRatings DEFAULT 0;
GO

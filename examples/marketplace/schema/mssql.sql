-- The marketplace's schema before the Seller Rating System (SQL Server, T-SQL).
-- Batches are separated by GO lines; each CREATE is guarded so the file can run twice.
IF OBJECT_ID(N'dbo.Users', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Users (
        Id        INT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_Users PRIMARY KEY,
        FullName  NVARCHAR(200) NOT NULL,
        Email     NVARCHAR(320) NOT NULL CONSTRAINT UQ_Users_Email UNIQUE,
        CreatedAt DATETIME2 NOT NULL CONSTRAINT DF_Users_CreatedAt DEFAULT SYSUTCDATETIME()
    );
END
GO

IF OBJECT_ID(N'dbo.Orders', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Orders (
        Id        INT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_Orders PRIMARY KEY,
        BuyerId   INT NOT NULL CONSTRAINT FK_Orders_Buyer REFERENCES dbo.Users (Id),
        SellerId  INT NOT NULL CONSTRAINT FK_Orders_Seller REFERENCES dbo.Users (Id),
        Status    NVARCHAR(20) NOT NULL CONSTRAINT DF_Orders_Status DEFAULT N'pending',
        CreatedAt DATETIME2 NOT NULL CONSTRAINT DF_Orders_CreatedAt DEFAULT SYSUTCDATETIME(),
        CONSTRAINT CK_Orders_Status CHECK (Status IN (N'pending', N'completed', N'cancelled'))
    );
END
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_Orders_BuyerId' AND object_id = OBJECT_ID(N'dbo.Orders'))
    CREATE INDEX IX_Orders_BuyerId ON dbo.Orders (BuyerId);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_Orders_SellerId' AND object_id = OBJECT_ID(N'dbo.Orders'))
    CREATE INDEX IX_Orders_SellerId ON dbo.Orders (SellerId);
GO

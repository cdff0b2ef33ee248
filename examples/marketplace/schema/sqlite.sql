-- The marketplace's schema before the Seller Rating System (SQLite).
-- SellerRatings and the Users rating columns are added by the pipeline's migration, not here.
CREATE TABLE IF NOT EXISTS "Users" (
    "Id"        INTEGER PRIMARY KEY AUTOINCREMENT,
    "FullName"  TEXT NOT NULL,
    "Email"     TEXT NOT NULL UNIQUE,
    "CreatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS "Orders" (
    "Id"        INTEGER PRIMARY KEY AUTOINCREMENT,
    "BuyerId"   INTEGER NOT NULL REFERENCES "Users" ("Id"),
    "SellerId"  INTEGER NOT NULL REFERENCES "Users" ("Id"),
    "Status"    TEXT NOT NULL DEFAULT 'pending' CHECK ("Status" IN ('pending', 'completed', 'cancelled')),
    "CreatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS "IX_Orders_BuyerId" ON "Orders" ("BuyerId");

CREATE INDEX IF NOT EXISTS "IX_Orders_SellerId" ON "Orders" ("SellerId");

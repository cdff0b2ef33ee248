"""The plan parsers, on plans the servers really print (PostgreSQL 15 and SQLite 3.40 output captured
from the stand-in's database; SQL Server's SHOWPLAN_TEXT in its documented shape)."""

from __future__ import annotations

import json

from deploy.diagnose.pg_plan import parse_postgres
from deploy.diagnose.plans import FULL_SCAN, INDEX_SCAN, SEEK, Access, aliases_in, parse_mssql, parse_sqlite


def node(kind: str, children=(), **fields) -> dict:
    out = {"Node Type": kind, "Parallel Aware": False, "Actual Loops": 1, **fields}
    if children:
        out["Plans"] = list(children)
    return out


def document(root: dict, execution_ms: float = 0.168) -> str:
    """As psqlODBC hands it over: one text value holding the JSON array."""
    return json.dumps([{"Plan": root, "Planning Time": 0.15, "Triggers": [], "Execution Time": execution_ms}],
                      indent=2)


# EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of the ratings page, 20,000 ratings, all indexes present
PG_BY_SELLER = document(node(
    "Limit", [node("Sort", [node("Hash Join", [
        node("Seq Scan", **{"Relation Name": "Users", "Alias": "u", "Actual Rows": 260}),
        node("Hash", [node("Bitmap Heap Scan", [
            node("Bitmap Index Scan", **{"Index Name": "IX_SellerRatings_SellerId_CreatedAt",
                                         "Index Cond": "(\"SellerId\" = 210)", "Actual Rows": 142})],
            **{"Relation Name": "SellerRatings", "Alias": "r", "Recheck Cond": "(\"SellerId\" = 210)",
               "Actual Rows": 142, "Rows Removed by Index Recheck": 0})]),
    ], **{"Hash Cond": "(u.\"Id\" = r.\"RaterId\")"})],
        **{"Sort Key": ["r.\"CreatedAt\" DESC", "r.\"Id\" DESC"], "Sort Method": "top-N heapsort"})],
    **{"Actual Rows": 20, "Shared Hit Blocks": 16, "Shared Read Blocks": 2}))

# the same query after DROP INDEX of both SellerId indexes
PG_BY_SELLER_DROPPED = document(node(
    "Limit", [node("Sort", [node("Hash Join", [
        node("Seq Scan", **{"Relation Name": "SellerRatings", "Alias": "r", "Filter": "(\"SellerId\" = 210)",
                            "Actual Rows": 142, "Rows Removed by Filter": 19858}),
        node("Hash", [node("Seq Scan", **{"Relation Name": "Users", "Alias": "u", "Actual Rows": 260})]),
    ])])], **{"Actual Rows": 20, "Shared Hit Blocks": 188, "Shared Read Blocks": 0}), execution_ms=1.234)

PG_CAN_RATE = document(node("Index Scan", **{
    "Scan Direction": "Forward", "Index Name": "UX_SellerRatings_SellerId_RaterId", "Relation Name": "SellerRatings",
    "Alias": "SellerRatings", "Index Cond": "((\"SellerId\" = 210) AND (\"RaterId\" = 100))", "Actual Rows": 0,
    "Shared Hit Blocks": 2, "Shared Read Blocks": 0}), execution_ms=0.012)


def test_postgres_bitmap_scan_names_the_index_and_the_sort():
    plan = parse_postgres(PG_BY_SELLER)
    assert plan.on("SellerRatings") == [Access("SellerRatings", SEEK, "IX_SellerRatings_SellerId_CreatedAt", 142)]
    assert plan.on("Users") == [Access("Users", FULL_SCAN, None, 260)]
    assert plan.sorts is True
    assert plan.execution_ms == 0.168 and plan.buffers == 18
    assert '"Node Type": "Limit"' in "\n".join(plan.raw)


def test_postgres_seq_scan_counts_the_rows_it_threw_away():
    plan = parse_postgres(PG_BY_SELLER_DROPPED)
    assert plan.on("sellerratings") == [Access("SellerRatings", FULL_SCAN, None, 20000)]
    assert plan.execution_ms == 1.234 and plan.buffers == 188


def test_postgres_index_scan_with_a_condition_is_a_seek():
    plan = parse_postgres(PG_CAN_RATE)
    assert plan.accesses == (Access("SellerRatings", SEEK, "UX_SellerRatings_SellerId_RaterId", 0),)
    assert plan.sorts is False


def test_postgres_index_scan_without_condition_reads_the_whole_index_and_loops_multiply():
    doc = [{"Plan": node("Nested Loop", [
        node("Index Only Scan", **{"Index Name": "IX_SellerRatings_CreatedAt", "Relation Name": "SellerRatings",
                                   "Actual Rows": 50}),
        node("Index Scan", **{"Index Name": "Users_pkey", "Relation Name": "Users", "Index Cond": "(x)",
                              "Actual Rows": 1, "Actual Loops": 50}),
    ])}]
    plan = parse_postgres(doc)    # already decoded, and EXPLAIN without BUFFERS
    assert plan.accesses == (Access("SellerRatings", INDEX_SCAN, "IX_SellerRatings_CreatedAt", 50),
                             Access("Users", SEEK, "Users_pkey", 50))
    assert plan.buffers is None and plan.execution_ms is None


def test_postgres_incremental_sort_is_not_a_sort_of_all_rows_and_plain_explain_has_no_rows():
    doc = [{"Plan": node("Incremental Sort", [
        node("Index Scan", **{"Index Name": "IX_SellerRatings_SellerId_CreatedAt", "Relation Name": "SellerRatings",
                              "Index Cond": "(\"SellerId\" = 1)"})])}]
    del doc[0]["Plan"]["Plans"][0]["Actual Loops"]
    plan = parse_postgres(doc)
    assert plan.sorts is False
    assert plan.accesses == (Access("SellerRatings", SEEK, "IX_SellerRatings_SellerId_CreatedAt", None),)


# EXPLAIN QUERY PLAN rows (id, parent, notused, detail), SQLite 3.40
SQLITE_BY_SELLER = [(9, 0, 0, "SEARCH r USING INDEX IX_SellerRatings_SellerId_CreatedAt (SellerId=?)"),
                    (14, 0, 0, "SEARCH u USING INTEGER PRIMARY KEY (rowid=?)")]
SQLITE_BY_SELLER_DROPPED = [(9, 0, 0, "SCAN r USING INDEX IX_SellerRatings_CreatedAt"),
                            (14, 0, 0, "SEARCH u USING INTEGER PRIMARY KEY (rowid=?)")]
SQLITE_CAN_RATE = [(2, 0, 0, "SEARCH SellerRatings USING COVERING INDEX UX_SellerRatings_SellerId_RaterId "
                             "(SellerId=? AND RaterId=?)")]
SQLITE_AGGREGATES_DROPPED = [(3, 0, 0, "SCAN SellerRatings")]
BY_SELLER_SQL = ('SELECT r."Id", u."FullName" FROM "SellerRatings" AS r JOIN "Users" AS u ON u."Id" = r."RaterId" '
                 'WHERE r."SellerId" = 1 ORDER BY r."CreatedAt" DESC LIMIT 20 OFFSET 0')


def test_aliases_from_the_query():
    assert aliases_in(BY_SELLER_SQL) == {"SellerRatings": "SellerRatings", "r": "SellerRatings",
                                         "Users": "Users", "u": "Users"}
    assert aliases_in('SELECT "Id" FROM "SellerRatings" WHERE "SellerId" = 1') == {"SellerRatings": "SellerRatings"}
    assert aliases_in("SELECT 1 FROM dbo.SellerRatings s JOIN dbo.Users ON 1 = 1") == {
        "SellerRatings": "SellerRatings", "s": "SellerRatings", "Users": "Users"}


def test_sqlite_search_by_index_through_the_alias():
    plan = parse_sqlite(SQLITE_BY_SELLER, aliases_in(BY_SELLER_SQL))
    assert plan.on("SellerRatings") == [Access("SellerRatings", SEEK, "IX_SellerRatings_SellerId_CreatedAt")]
    assert plan.on("Users") == [Access("Users", SEEK, "PRIMARY KEY")]
    assert plan.sorts is False and plan.raw[0].startswith("SEARCH r USING INDEX")


def test_sqlite_scans_whole_index_or_table():
    plan = parse_sqlite(SQLITE_BY_SELLER_DROPPED, aliases_in(BY_SELLER_SQL))
    assert plan.on("SellerRatings") == [Access("SellerRatings", INDEX_SCAN, "IX_SellerRatings_CreatedAt")]
    assert parse_sqlite(SQLITE_AGGREGATES_DROPPED).accesses == (Access("SellerRatings", FULL_SCAN, None),)
    assert parse_sqlite(SQLITE_CAN_RATE).accesses == (
        Access("SellerRatings", SEEK, "UX_SellerRatings_SellerId_RaterId"),)


def test_sqlite_older_wording_temp_btree_and_automatic_index():
    rows = [(3, 0, 0, "SCAN TABLE SellerRatings AS r"),
            (5, 0, 0, "SEARCH TABLE Users AS u USING AUTOMATIC COVERING INDEX (Id=?)"),
            (9, 0, 0, "USE TEMP B-TREE FOR ORDER BY")]
    plan = parse_sqlite(rows, {"r": "SellerRatings", "u": "Users"})
    assert plan.accesses == (Access("SellerRatings", FULL_SCAN, None), Access("Users", SEEK, "AUTOMATIC INDEX"))
    assert plan.sorts is True
    partial = parse_sqlite([(4, 0, 0, "SEARCH r USING INDEX IX_SellerRatings_SellerId (SellerId=?)"),
                            (8, 0, 0, "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY")], {"r": "SellerRatings"})
    assert partial.sorts is False
    assert parse_sqlite([(2, 0, 0, "SCAN CONSTANT ROW")]).accesses == ()


# SET SHOWPLAN_TEXT ON: the StmtText rows of the plan result set
MSSQL_BY_SELLER = [
    "  |--Nested Loops(Inner Join, OUTER REFERENCES:([r].[RaterId]))",
    "       |--Top(OFFSET EXPRESSION:((0)),TOP EXPRESSION:((20)))",
    "       |    |--Nested Loops(Inner Join, OUTER REFERENCES:([r].[Id]))",
    "       |         |--Index Seek(OBJECT:([MARKETPLACE_DB].[dbo].[SellerRatings]"
    ".[IX_SellerRatings_SellerId_CreatedAt] AS [r]), SEEK:([r].[SellerId]=(210)) ORDERED BACKWARD)",
    "       |         |--Clustered Index Seek(OBJECT:([MARKETPLACE_DB].[dbo].[SellerRatings].[PK_SellerRatings]"
    " AS [r]), SEEK:([r].[Id]=[MARKETPLACE_DB].[dbo].[SellerRatings].[Id] as [r].[Id]) LOOKUP ORDERED FORWARD)",
    "       |--Clustered Index Seek(OBJECT:([MARKETPLACE_DB].[dbo].[Users].[PK_Users] AS [u]),"
    " SEEK:([u].[Id]=[MARKETPLACE_DB].[dbo].[SellerRatings].[RaterId] as [r].[RaterId]) ORDERED FORWARD)",
]
MSSQL_BY_SELLER_DROPPED = [
    "  |--Sort(TOP 20, ORDER BY:([r].[CreatedAt] DESC, [r].[Id] DESC))",
    "       |--Clustered Index Scan(OBJECT:([MARKETPLACE_DB].[dbo].[SellerRatings].[PK_SellerRatings] AS [r]),"
    " WHERE:([MARKETPLACE_DB].[dbo].[SellerRatings].[SellerId] as [r].[SellerId]=(210)))",
]


def test_mssql_seek_ignores_the_key_lookup():
    plan = parse_mssql(MSSQL_BY_SELLER)
    assert plan.on("SellerRatings") == [Access("SellerRatings", SEEK, "IX_SellerRatings_SellerId_CreatedAt")]
    assert plan.on("Users") == [Access("Users", SEEK, "PK_Users")]
    assert plan.sorts is False and len(plan.raw) == len(MSSQL_BY_SELLER)


def test_mssql_clustered_scan_table_scan_and_index_scan():
    plan = parse_mssql(MSSQL_BY_SELLER_DROPPED)
    assert plan.accesses == (Access("SellerRatings", FULL_SCAN, "PK_SellerRatings"),)
    assert plan.sorts is True
    heap = parse_mssql(["  |--Table Scan(OBJECT:([db].[dbo].[SellerRatings]), WHERE:([SellerId]=(1)))",
                        "  |--Index Scan(OBJECT:([db].[dbo].[SellerRatings].[IX_SellerRatings_CreatedAt] AS [r]))"])
    assert heap.accesses == (Access("SellerRatings", FULL_SCAN, None),
                             Access("SellerRatings", INDEX_SCAN, "IX_SellerRatings_CreatedAt"))
    assert parse_mssql(["SELECT Id FROM dbo.SellerRatings WHERE SellerId = 1"]).accesses == ()

"""What db.diagnose concludes from indexes, plans, duplicates and timings (pure, no database)."""

from __future__ import annotations

from deploy.db.schema_introspect import LiveIndex
from deploy.diagnose.model import OK, PROBLEM, WARN, Evidence, Limits, ProbeResult, Timed
from deploy.diagnose.plans import FULL_SCAN, INDEX_SCAN, SEEK, Access, Plan
from deploy.diagnose.probes import PROBES
from deploy.diagnose.rules import findings, has_problem, milliseconds, plan_finding, serving

UX = LiveIndex("UX_SellerRatings_SellerId_RaterId", ("SellerId", "RaterId"), True)
IX = LiveIndex("IX_SellerRatings_SellerId_CreatedAt", ("SellerId", "CreatedAt"), False)
RATER = LiveIndex("IX_SellerRatings_RaterId", ("RaterId",), False)
CREATED = LiveIndex("IX_SellerRatings_CreatedAt", ("CreatedAt",), False)
PK = LiveIndex("PK_SellerRatings", ("Id",), True)
ALL = [PK, UX, IX, RATER, CREATED]
BY_SELLER, CAN_RATE, AGGREGATES = PROBES


def seek(index: str, sorts: bool = False) -> Plan:
    return Plan((Access("SellerRatings", SEEK, index), Access("Users", SEEK, "PK_Users")), sorts)


def scan(rows: int | None = None) -> Plan:
    return Plan((Access("SellerRatings", FULL_SCAN, None, rows),))


def healthy(rows: int = 500, **changes) -> Evidence:
    ev = Evidence("postgres", indexes=list(ALL), row_counts={"SellerRatings": rows, "Users": 60},
                  probes=[ProbeResult(BY_SELLER, "q1", seek(IX.name)), ProbeResult(CAN_RATE, "q2", seek(UX.name)),
                          ProbeResult(AGGREGATES, "q3", seek(IX.name))],
                  timings=[Timed("verify-aggregates.sql", 12.5, 0), Timed("top-sellers.sql", 0.4, 10)])
    for key, value in changes.items():
        setattr(ev, key, value)
    return ev


def texts(found, status=None) -> list[str]:
    return [f.text for f in found if status is None or f.status == status]


def test_a_healthy_database_has_no_problem_and_says_which_index_serves_what():
    found = findings(healthy())
    assert not has_problem(found) and texts(found, WARN) == []
    oks = texts(found, OK)
    assert "SellerRatings lookups by seller use IX_SellerRatings_SellerId_CreatedAt" in oks
    assert "can-rate lookups by (SellerId, RaterId) use UX_SellerRatings_SellerId_RaterId" in oks
    assert ("one rating per rater and seller: unique index UX_SellerRatings_SellerId_RaterId on "
            "SellerRatings(SellerId, RaterId)") in oks
    assert ("slowest of 2 monitoring and aggregate queries: verify-aggregates.sql 12.5 ms (target < 100 ms)"
            in oks)


def test_missing_unique_index_is_a_problem_listed_first():
    found = findings(healthy(indexes=[PK, IX, RATER, CREATED], duplicates=(0, 0)))
    assert has_problem(found)
    assert found[0].status == PROBLEM
    assert found[0].text == "MISSING: unique index on SellerRatings(SellerId, RaterId) - duplicate ratings possible"
    assert not [t for t in texts(found) if t.startswith("DUPLICATES")]   # none yet


def test_duplicates_are_counted_when_the_unique_index_is_gone():
    found = findings(healthy(indexes=[PK, IX, RATER, CREATED], duplicates=(3, 4)))
    dup = [t for t in texts(found, PROBLEM) if t.startswith("DUPLICATES")]
    assert dup == ["DUPLICATES: 3 (SellerId, RaterId) pair(s) rated more than once (4 extra rating(s)); remove "
                   "them before creating the unique index (sql/postgres/diagnose/duplicate-ratings.sql)"]


def test_a_unique_index_on_the_rater_alone_explains_wrong_already_rated_errors():
    narrow = LiveIndex("UX_SellerRatings_RaterId", ("RaterId",), True)
    found = findings(healthy(indexes=[PK, narrow, IX, CREATED]))
    problems = texts(found, PROBLEM)
    assert any(t.startswith("TOO NARROW: unique index UX_SellerRatings_RaterId on SellerRatings(RaterId): "
                            "a rater may rate only one seller") for t in problems)
    assert "MISSING: unique index on SellerRatings(SellerId, RaterId) - duplicate ratings possible" in problems
    # a unique index with a third column does not enforce one rating per pair either
    wide = LiveIndex("UX_wide", ("SellerId", "RaterId", "Rating"), True)
    assert "MISSING: unique index" in findings(healthy(indexes=[wide, IX]))[0].text
    # the pair in the other order does
    swapped = LiveIndex("UX_swapped", ("RaterId", "SellerId"), True)
    assert not [t for t in texts(findings(healthy(indexes=[swapped, IX, CREATED]))) if "unique" in t and "MISS" in t]


def test_dropped_seller_created_index_is_a_problem_and_monitoring_indexes_are_warnings():
    found = findings(healthy(indexes=[PK, UX]))
    assert ("MISSING: index on SellerRatings(SellerId, CreatedAt) - a seller's ratings, newest first, are found "
            "and sorted the slow way") in texts(found, PROBLEM)
    assert "lookups on SellerRatings(SellerId) are served by UX_SellerRatings_SellerId_RaterId" in texts(found, OK)
    warns = texts(found, WARN)
    assert any(t.startswith("MISSING: index on SellerRatings(RaterId)") for t in warns)
    assert any(t.startswith("MISSING: index on SellerRatings(CreatedAt)") for t in warns)


def test_serving_matches_leading_columns_in_order_ignoring_case():
    assert serving(ALL, ("sellerid",)) == [UX, IX]
    assert serving(ALL, ("SellerId", "CreatedAt")) == [IX]
    assert serving(ALL, ("CreatedAt", "SellerId")) == []


def test_full_scan_of_a_large_table_is_a_problem():
    result = ProbeResult(BY_SELLER, "q", scan(50_000))
    finding = plan_finding(result, 50_000, Limits(large_rows=10_000))
    assert finding.status == PROBLEM
    assert finding.text == ("SCAN: SellerRatings lookups by seller read all 50,000 rows of SellerRatings (a full "
                            "scan) - an index on (SellerId, CreatedAt) is expected")


def test_full_scan_although_an_index_could_serve_hints_at_statistics():
    result = ProbeResult(CAN_RATE, "q", scan(), index_only=seek(UX.name))
    finding = plan_finding(result, 20_000, Limits(large_rows=10_000))
    assert finding.status == PROBLEM and "UX_SellerRatings_SellerId_RaterId could serve them" in finding.text
    assert "ANALYZE SellerRatings" in finding.text


def test_full_scan_of_a_small_table_is_fine_when_an_index_could_serve():
    result = ProbeResult(AGGREGATES, "q", scan(), index_only=seek(IX.name))
    finding = plan_finding(result, 120, Limits())
    assert finding.status == OK
    assert finding.text == ("seller aggregates by SellerId can use IX_SellerRatings_SellerId_CreatedAt (on 120 rows "
                            "the planner reads the table instead, which is cheaper at this size)")


def test_whole_index_scan_on_a_small_table_without_a_usable_index_is_a_warning():
    plan = Plan((Access("SellerRatings", INDEX_SCAN, "IX_SellerRatings_CreatedAt"),))
    finding = plan_finding(ProbeResult(BY_SELLER, "q", plan), 600, Limits())
    assert finding.status == WARN
    assert "read the whole table (600 rows, every entry of IX_SellerRatings_CreatedAt)" in finding.text


def test_sort_after_seek_matters_only_on_a_large_table():
    result = ProbeResult(BY_SELLER, "q", seek(UX.name, sorts=True))
    assert plan_finding(result, 500, Limits()).status == OK
    large = plan_finding(result, 50_000, Limits())
    assert large.status == WARN and "then sort" in large.text
    # the can-rate lookup has no order to keep
    assert plan_finding(ProbeResult(CAN_RATE, "q", seek(UX.name, sorts=True)), 50_000, Limits()).status == OK


def test_unexplained_or_unknown_plans_are_warnings_not_problems():
    failed = plan_finding(ProbeResult(CAN_RATE, "q", error="postgres: canceling statement"), 10, Limits())
    assert failed.status == WARN and "could not explain can-rate lookups" in failed.text
    other = plan_finding(ProbeResult(CAN_RATE, "q", Plan((Access("Users", SEEK, "PK"),))), 10, Limits())
    assert other.status == WARN and "does not show how SellerRatings is read" in other.text


def test_slow_queries_are_warnings_and_failed_timings_are_reported():
    found = findings(healthy(timings=[Timed("monitoring/participation.sql", 250.4, 1),
                                      Timed("top-sellers.sql", 3.0, 10),
                                      Timed("monitoring/x.sql", None, error="uses :foo")]), Limits(slow_ms=100))
    warns = texts(found, WARN)
    assert "SLOW: monitoring/participation.sql takes 250 ms (target < 100 ms)" in warns
    assert "could not time monitoring/x.sql: uses :foo" in warns
    assert not has_problem(found)
    assert not [t for t in texts(found) if t.startswith("slowest")]


def test_no_table_is_one_problem():
    found = findings(Evidence("sqlite", has_table=False))
    assert [(f.status, f.text) for f in found] == [
        (PROBLEM, "MISSING: table SellerRatings - the rating migration is not applied (invoke deploy.phase1)")]


def test_milliseconds_read_well():
    assert [milliseconds(v) for v in (0.034, 2.549, 99.96, 1234.5)] == ["0.03 ms", "2.5 ms", "100.0 ms", "1,234 ms"]

"""Success criteria, the rollout timeline, the SVG charts, the HTML page and CSV (pure)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from deploy.db.journal import Event
from deploy.monitoring import charts, criteria, report_html, rollout, tabular
from deploy.monitoring.api_stats import ApiStats
from deploy.monitoring.criteria import FAIL, NO_DATA, PASS, Measured
from deploy.monitoring.queries import DayCount, Participation, SellerCoverage, StarShare, TopSeller
from deploy.secrets import Secret

NOW = datetime(2024, 3, 6, 15, 0, tzinfo=timezone.utc)


def measured(days=30, buyers=(100, 20), average=Decimal("4.00"), errors=(1000, 9), p95=0.49,
             discrepancies=0, coverage=(10, 8), unreachable=()) -> Measured:
    total, rated = buyers
    rate = Decimal(rated * 100) / total if total else None
    active, covered = coverage
    return Measured(
        days=days,
        participation=Participation(0, 0, None, total, rated,
                                    rate.quantize(Decimal("0.01")) if rate is not None else None),
        average_rating=average, ratings=50, discrepancies=discrepancies,
        coverage=SellerCoverage(active, covered,
                                (Decimal(covered * 100) / active).quantize(Decimal("0.01")) if active else None),
        api=None if errors is None else ApiStats(errors[0], errors[1], p95, 0),
        unreachable=list(unreachable))


def statuses(found):
    return {c.key: c.status for c in found}


def test_thirty_day_goals_pass_exactly_at_their_targets():
    found = criteria.evaluate(measured())
    assert statuses(found) == {"participation": PASS, "average_rating": PASS, "error_rate": PASS,
                               "latency_p95": PASS, "inconsistencies": PASS}
    first = found[0]
    assert (first.measured, first.target) == ("20.00% (20 of 100 buyers)", ">= 20%")


def test_thirty_day_goals_fail_just_past_their_targets():
    found = criteria.evaluate(measured(buyers=(100, 19), average=Decimal("3.99"), errors=(1000, 10), p95=0.5,
                                       discrepancies=1))
    assert set(statuses(found).values()) == {FAIL}
    assert [c.measured for c in found][2:] == ["1.000% (10 of 1,000 requests)", "500 ms", "1 sellers"]


def test_ninety_day_goals_and_the_survey_that_never_passes():
    found = criteria.evaluate(measured(days=90, buyers=(100, 40), errors=(10_000, 9), coverage=(10, 8)))
    assert statuses(found) == {"participation": PASS, "seller_coverage": PASS, "average_rating": PASS,
                               "error_rate": PASS, "latency_p95": PASS, "inconsistencies": PASS,
                               "satisfaction": NO_DATA}
    survey = found[-1]
    assert survey.measured == "no data source" and survey.target == ">= 4.5 / 5"
    stricter = statuses(criteria.evaluate(measured(days=90, buyers=(100, 39), errors=(10_000, 10), coverage=(10, 7))))
    assert stricter["participation"] == stricter["error_rate"] == stricter["seller_coverage"] == FAIL


def test_what_cannot_be_measured_says_why_and_never_passes():
    found = {c.key: c for c in criteria.evaluate(measured(days=90, buyers=(0, 0), average=None, errors=None,
                                                          coverage=(0, 0)))}
    for key in ("participation", "seller_coverage", "average_rating", "error_rate", "latency_p95"):
        assert found[key].status == NO_DATA, key
    assert found["error_rate"].measured == "not enough traffic"
    down = {c.key: c for c in criteria.evaluate(measured(unreachable=["api-2"]))}
    assert down["error_rate"].status == NO_DATA and "api-2" in down["error_rate"].detail
    few = {c.key: c for c in criteria.evaluate(measured(errors=(19, 0)))}
    assert few["latency_p95"].status == NO_DATA and "19 API request(s)" in few["latency_p95"].detail


def ev(at, details, outcome="ok", phase="phase3", action="rollout"):
    return Event(at, "production", phase, action, outcome, "ci", details=details)


def test_rollout_timeline_reads_the_journal_defensively():
    events = [
        ev(NOW - timedelta(days=1), {"percentage": 50}),
        ev(NOW - timedelta(days=3), {"percentage": "25"}),
        ev(NOW - timedelta(days=2), {"percentage": 75}, outcome="failed"),
        ev(NOW - timedelta(days=2), {"percentage": "abc"}),
        ev(NOW - timedelta(days=2), {"percentage": 101}),
        ev(NOW - timedelta(days=2), {"percentage": 12.5}),
        ev(NOW - timedelta(days=2), {"percentage": True}),
        ev(NOW - timedelta(days=2), {}),
        ev(NOW - timedelta(days=2), {"percentage": 60}, phase="phase2"),
        ev(NOW - timedelta(days=5), {"percentage": 10.0}),
        ev(NOW - timedelta(days=40), {"percentage": 5}),
    ]
    points = rollout.timeline(events)
    assert [p.percentage for p in points] == [5, 10, 25, 50]
    start = NOW - timedelta(days=30)
    clipped = rollout.within(points, start, NOW)
    assert [(p.at, p.percentage) for p in clipped][0] == (start, 5)
    assert [p.percentage for p in clipped] == [5, 10, 25, 50]
    assert rollout.within(points[1:], start, NOW)[0].percentage == 10      # nothing before: no lead
    assert rollout.percentage("not a dict") is None


def test_bar_chart_draws_one_bar_per_value_with_escaped_text():
    svg = charts.bar_chart("c1", "Ratings <per> day", ["a", "b&c", "d"], [0, 5, 2])
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="c1"')
    assert "<title id=\"c1-title\">Ratings &lt;per&gt; day</title>" in svg
    assert re.findall(r'class="bar" data-label="([^"]*)" data-value="([^"]*)"', svg) == [
        ("a", "0"), ("b&amp;c", "5"), ("d", "2")]
    heights = [float(h) for h in re.findall(r'class="bar".*? height="([\d.]+)"', svg)]
    assert heights[0] == 0 and heights[1] == pytest.approx(2.5 * heights[2])


def test_rollout_chart_steps_and_says_when_empty():
    start = NOW - timedelta(days=30)
    empty = charts.rollout_chart("r", "Rollout", [], start, NOW)
    assert "no rollout events in the journal" in empty and "<polyline" not in empty
    pts = [rollout.RolloutPoint(start + timedelta(days=10), 10), rollout.RolloutPoint(start + timedelta(days=20), 50)]
    svg = charts.rollout_chart("r", "Rollout", pts, start, NOW)
    line = re.search(r'<polyline class="line" points="([^"]+)"', svg).group(1).split()
    assert len(line) == 4                    # 10% at day 10, held to day 20, 50%, held to the end
    assert line[1].split(",")[1] == line[0].split(",")[1]
    assert re.findall(r'class="point" data-value="(\d+)"', svg) == ["10", "50"]


def report_data(env_name="production") -> report_html.ReportData:
    days = [DayCount(date(2024, 3, 6) - timedelta(days=n), n % 3) for n in range(29, -1, -1)]
    return report_html.ReportData(
        environment=env_name, generated_at=NOW, days=30,
        criteria=criteria.evaluate(measured()),
        per_day=days,
        distribution=[StarShare(s, s, Decimal("6.67") * s) for s in (5, 4, 3, 2, 1)],
        rollout=[rollout.RolloutPoint(NOW - timedelta(days=2), 25)],
        top_sellers=[TopSeller(7, "Zoë <script>alert(1)</script>", Decimal("4.90"), 12, 11)],
        hosts=[{"host": "api-1", "state": "ok", "detail": "120 API requests"}])


def test_html_page_is_self_contained_escaped_and_masked():
    secret = Secret("s3cret-in-env-name", name="x")
    html = report_html.render(report_data(f"prod-{secret.reveal()}"))
    for chart_id in ("chart-ratings-per-day", "chart-rating-distribution", "chart-rollout"):
        assert f'id="{chart_id}"' in html
    assert len(re.findall(r'<rect class="bar"', html)) == 30 + 5
    assert "<script" not in html and "Zoë &lt;script&gt;" in html
    assert "s3cret-in-env-name" not in html and "prod-***" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)            # nothing fetched from elsewhere
    assert html.count('data-status="pass"') == 5


def test_csv_blocks_and_plain_single_table():
    rows = [StarShare(5, 2, Decimal("66.67")), StarShare(1, 1, Decimal("33.33"))]
    one = tabular.to_csv([tabular.distribution(rows)])
    assert one == "rating,count,percentage\n5,2,66.67\n1,1,33.33\n"
    two = tabular.to_csv([tabular.distribution(rows), tabular.weekly([], 0)])
    assert two.startswith("# distribution\nrating,count,percentage\n") and "\n\n# weekly\nweek_start," in two
    assert tabular.cell(None) == "" and tabular.cell(date(2024, 1, 1)) == "2024-01-01"
    assert tabular.iso_week(date(2024, 12, 30)) == "2025-W01"

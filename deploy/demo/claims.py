"""Pure: does what the demo observed hold up what the README says it shows?

Each judge takes observations (HTTP answers counted by status, the alerts `monitor.alerts --json`
reported) and returns the problems, one line each; no problems means the claim holds. The demo
exits 1 when a step's claim does not hold.
"""

from __future__ import annotations

from collections import Counter

from deploy.demo.traffic import TrafficReport

ABUSE_RULE = "rating_spike"
ALREADY_RATED = "already-rated"   # a re-run: the buyer rated this seller the first time


def _codes(counts: Counter, expected: int) -> str:
    return ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()) if code != expected)


def traffic_problems(report: TrafficReport, pairs: int) -> list[str]:
    """Buyers with a completed order rate their sellers: every can-rate question answered 200 (yes,
    or 'already rated' on a re-run), every rating created with 201, every buyer asked."""
    problems = []
    if pairs == 0:
        problems.append("no buyer with a completed order to rate a seller: the traffic proved nothing")
    if report.pairs_asked < pairs:
        problems.append(f"only {report.pairs_asked} of {pairs} buyers were asked before the deadline")
    if any(code != 200 for code in report.can_rate):
        problems.append(f"GET /api/v1/ratings/can-rate answered {_codes(report.can_rate, 200)} (expected 200)")
    refused = Counter({r: n for r, n in report.refusals.items() if r != ALREADY_RATED})
    if refused:
        reasons = ", ".join(f"{r} x{n}" for r, n in sorted(refused.items()))
        problems.append(f"can-rate said no to buyers with a completed order: {reasons}")
    if any(code != 201 for code in report.create):
        problems.append(f"POST /api/v1/ratings answered {_codes(report.create, 201)} (expected 201)")
    if report.ratings_created != sum(report.create.values()):
        problems.append(f"{report.ratings_created} of {sum(report.create.values())} ratings were created")
    return problems


def reads_problems(api: Counter, pages: Counter) -> list[str]:
    """Users reading through the API and opening seller pages: every answer 200."""
    problems = []
    if not api or not pages:
        problems.append("no reads were made")
    if any(code != 200 for code in api):
        problems.append(f"API reads answered {_codes(api, 200)} (expected 200)")
    if any(code != 200 for code in pages):
        problems.append(f"seller pages answered {_codes(pages, 200)} (expected 200)")
    return problems


def alert_problems(exit_code: int, alerts: list[dict], burst: int, min_ratings: int) -> list[str]:
    """`monitor.alerts` after the demo's traffic: the abuse rule fires on a burst of at least
    min_ratings new ratings (the README says so), no other rule fires (the API is up, answers
    fast and without errors; phase 4 left no discrepancy), and the exit code says which."""
    problems = []
    fired = [a for a in alerts if a.get("fired")]
    for alert in fired:
        if alert.get("rule") != ABUSE_RULE:
            problems.append(f"{alert.get('rule')} fired ({alert.get('subject')}): {alert.get('message')}")
    spike = [a for a in alerts if a.get("rule") == ABUSE_RULE]
    if burst >= min_ratings and not any(a.get("fired") for a in spike):
        seen = spike[0].get("message") if spike else "the rule was not evaluated"
        problems.append(f"the abuse rule ({ABUSE_RULE}) did not fire on the demo's burst of {burst} "
                        f"ratings: {seen}")
    expected = 1 if fired else 0
    if exit_code != expected:
        problems.append(f"monitor.alerts exited {exit_code}, expected {expected} "
                        f"({len(fired)} alert(s) fired)")
    return problems

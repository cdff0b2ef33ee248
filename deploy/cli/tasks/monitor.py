"""Monitoring: engagement metrics, aggregate checks and their fix, alerts, and the success criteria."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from deploy.cli.task import Run, deploy_task
from deploy.errors import EXIT_FAILED, ConfigError
from deploy.lazy import lazy
from deploy.monitoring import flags, tabular
from deploy.secrets import register
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
rundb = lazy("deploy.db.run_database")
aggregates = lazy("deploy.db.aggregates")
db_connect = lazy("deploy.db.connect")
alerting = lazy("deploy.monitoring.alerting")
alerts_spec = lazy("deploy.monitoring.alerts_spec")
collect = lazy("deploy.monitoring.collect")
criteria = lazy("deploy.monitoring.criteria")
present = lazy("deploy.monitoring.present")
report_html = lazy("deploy.monitoring.report_html")
rules = lazy("deploy.monitoring.alerts")
webhooks = lazy("deploy.monitoring.webhook")   # not `webhook`: monitor.alerts has a --webhook flag
recalculation = lazy("deploy.monitoring.recalculate")
periods = lazy("deploy.monitoring.periods")   # statistics, decimal, fractions

FORMAT = "table (default) or csv; --csv is short for --format csv (--json for JSON)"


@deploy_task()
def verify(run: Run):
    """Compare stored seller aggregates with the actual ratings in one set-based query (exit 1 if any differ)."""
    with rundb.open_db(run) as db:
        if not db_connect.has_table(db, "SellerRatings"):
            raise ConfigError("no SellerRatings table yet: run deploy.phase1 first")
        found = aggregates.discrepancies(db, rundb.sql_root(run))
    if found:
        run.out.table("Aggregate discrepancies",
                      ["seller", "name", "stored total", "actual total", "stored positive",
                       "actual positive", "stored avg", "actual avg"],
                      [(d.seller_id, d.seller_name, d.stored_total, d.actual_total, d.stored_positive,
                        d.actual_positive, d.stored_average, d.actual_average) for d in found])
    run.out.line(f"{len(found)} seller(s) with discrepancies" if found else "no discrepancies")
    return {"discrepancies": found, "count": len(found), "_exit_code": EXIT_FAILED if found else 0}


@deploy_task(help={
    "days": "ratings per day over the last N calendar days, UTC (default 30)",
    "weeks": "weekly activity over the last N ISO weeks (default 12)",
    "only": f"comma-separated tables to show: {', '.join(tabular.NAMES)} (default all)",
    "format": FORMAT,
    "csv": "print CSV instead of tables (one block per table; with --only NAME a plain CSV)",
})
def metrics(run: Run, days=None, weeks=None, only=None, format=None, csv=False):
    """Show the runbook's engagement metrics: ratings per day, distribution, top sellers, weekly activity, participation."""
    n_days = flags.whole_number(days, "days", 30, high=3660)
    n_weeks = flags.whole_number(weeks, "weeks", 12, high=520)
    chosen = flags.names(only, "only", tabular.NAMES)
    fmt = flags.output_format(format, csv)
    flags.not_both_json(fmt, run.out.json_mode)
    with rundb.open_db(run) as db:
        collect.require_ratings(db)
        e = collect.engagement(db, periods.utc_now().date(), n_days, n_weeks, rundb.sql_root(run))
    present.show(run.out, tabular.engagement(e, chosen, collect.MIN_RATINGS), fmt)
    data = {"daily": e.per_day, "distribution": e.distribution, "top_sellers": e.top_sellers,
            "weekly": e.weekly, "participation": e.participation}
    return {"days": n_days, "weeks": n_weeks, **{n.replace("-", "_"): data[n.replace("-", "_")] for n in chosen}}


@deploy_task(help={"dry_run": DRY_RUN, "lock_wait": LOCK_WAIT})
def recalculate(run: Run, dry_run=False, lock_wait=None):
    """Recompute seller aggregates from the ratings (set-based, after a verified backup, journaled)."""
    result = recalculation.recalculate(run, dry_run=bool(dry_run), lock_wait=lock_wait_seconds(lock_wait))
    if dry_run:
        run.out.line(f"-- {result.before} seller(s) disagree now; this would run:")
        run.out.line(result.dry_run_sql or "")
        return {"dry_run": True, "discrepancies": result.before, "sql": result.dry_run_sql}
    if not result.before:
        run.out.line("no discrepancies: nothing to recalculate (nothing changed, no backup taken)")
    else:
        run.out.line(f"recalculated: {result.sellers_changed} seller(s) changed; discrepancies "
                     f"{result.before} -> {result.after}")
    return {"discrepancies_before": result.before, "sellers_changed": result.sellers_changed,
            "discrepancies_after": result.after, "backup": result.backup}


@deploy_task(help={
    "webhook": "post one Slack-compatible JSON message with the fired alerts to this URL "
               "(not used when notify.alertmanager.url is set: alerts then go through Alertmanager)",
    "window": "scrape /metrics twice this far apart (e.g. 30s); 0 = totals since each API process "
              "started (default: api.window in checks/alerts.yaml)",
})
def alerts(run: Run, webhook=None, window=None):
    """Check the runbook's alert rules (checks/alerts.yaml); exit 1 when any fires."""
    url = webhook_url(webhook)
    spec = alerts_spec.load(Path(run.env.root))
    override = flags.duration(window, "window")
    via_alertmanager = alerting.alertmanager_url(run) is not None
    found = alerting.evaluate(run, spec, spec.api.window if override is None else override)
    run.out.table(None, ["rule", "subject", "state", "measured", "alert when", "detail"],
                  [(a.rule, a.subject, a.state.upper() if a.fired else a.state, a.value, a.threshold, a.message)
                   for a in found])
    fired = rules.fired(found)
    run.out.line(f"{len(fired)} alert(s) fired" if fired else "no alerts")
    if via_alertmanager and spec.needs_hosts:
        run.out.info("HTTP rules: judged by Prometheus (invoke monitor.rules), not scraped here")
    delivery = ({"alertmanager": alerting.deliver(run, spec, found),
                 "webhook": {"posted": False, "reason": "alerts go through Alertmanager (notify.alertmanager.url)"}}
                if via_alertmanager else {"webhook": alerting.notify(run, url, fired)})
    return {"alerts": [a.as_dict() for a in found], "fired": len(fired), **delivery,
            "_exit_code": EXIT_FAILED if fired else 0}


@deploy_task(help={
    "days": "30 or 90: the runbook's 30-day or 90-day goals, measured over that many days (default 30)",
    "html": "also write one self-contained HTML page (criteria table and charts) to PATH",
    "format": FORMAT,
    "csv": "print the criteria as CSV",
})
def report(run: Run, days=None, html=None, format=None, csv=False):
    """Judge the runbook's success criteria: measured value, target, pass / fail / no data."""
    n_days = flags.report_days(days)
    fmt = flags.output_format(format, csv)
    flags.not_both_json(fmt, run.out.json_mode)
    if html is not None and not str(html).strip():
        raise ConfigError("--html: expected a file path")
    spec = alerts_spec.load(Path(run.env.root))
    with rundb.open_db(run) as db:
        collect.require_ratings(db)
        data = collect.report(run.env, db, spec, n_days, periods.utc_now(), rundb.sql_root(run))
    present.show(run.out, [tabular.criteria(data.criteria, n_days)], fmt)
    tally = criteria.counts(data.criteria)
    if fmt == "table":
        run.out.line(f"{tally['pass']} passed, {tally['fail']} failed, {tally['no-data']} without data")
    written = None
    if html:
        written = report_html.write(Path(html), report_html.render(data, Path(run.env.root)))
        run.out.info(f"wrote {written}")
    return {"days": n_days, "criteria": [c.as_dict() for c in data.criteria], "counts": tally,
            "hosts": data.hosts, "rollout": [asdict(p) for p in data.rollout],
            "html": str(written) if written else None}


def webhook_url(value) -> str | None:
    if value in (None, ""):
        return None
    url = webhooks.check_url(str(value))
    register(url)              # a Slack webhook URL is a credential: masked wherever it would print
    return url

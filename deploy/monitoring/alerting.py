"""What monitor.alerts does: measure (database, then the API hosts), judge every rule, notify.

With notify.alertmanager.url set, Prometheus judges the HTTP rules (monitor.rules) and this run
judges the database rules only, delivering them through Alertmanager's API (am_alerts) instead
of the webhook: routing, dedup and silences then live in one place.

The database part never stops the run: an unreachable database or a failing query becomes an
`unreachable` alert of its own, so the webhook still says something is wrong. A missing
SellerRatings table is a ConfigError (exit 2): there is nothing to monitor before phase 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.run import Run
from deploy.db.run_database import open_db, sql_root
from deploy.errors import ConfigError, StepFailed
from deploy.monitoring import alerts as rules
from deploy.monitoring import am_alerts, am_config, collect, periods, webhook
from deploy.monitoring.alerts_spec import AlertSpec


@dataclass
class Outcome:
    alerts: list[rules.Alert] = field(default_factory=list)
    webhook: dict = field(default_factory=dict)

    @property
    def fired(self) -> list[rules.Alert]:
        return rules.fired(self.alerts)


def alertmanager_url(run: Run) -> str | None:
    """notify.alertmanager.url when set (exit 2 when it is not an http(s) URL)."""
    value = run.env.notify.alertmanager.url
    if not am_config.configured(value):
        return None
    return am_config.check_url(value, "url", run.env.source_file)


def evaluate(run: Run, spec: AlertSpec, window: float) -> list[rules.Alert]:
    found = database_alerts(run, spec)
    if spec.needs_hosts and not alertmanager_url(run):
        found += collect.host_alerts(spec, collect.api_hosts(run.env, spec, window), window)
    return found


def database_alerts(run: Run, spec: AlertSpec) -> list[rules.Alert]:
    if not (spec.discrepancies.enabled or spec.rating_spike.enabled):
        return []
    try:
        with open_db(run) as db:
            collect.require_ratings(db)
            return collect.database_alerts(db, spec, periods.utc_now(), sql_root(run))
    except ConfigError:
        raise
    except StepFailed as exc:
        return [rules.Alert("database", rules.DATABASE, rules.UNREACHABLE, "no answer", "reachable", str(exc))]


def notify(run: Run, url: str | None, fired: list[rules.Alert]) -> dict:
    """Post the fired alerts once; a receiver that fails is a warning, never a different exit."""
    if not url:
        return {"posted": False, "reason": "no --webhook"}
    if not fired:
        return {"posted": False, "reason": "nothing fired"}
    problem = webhook.post(url, webhook.message(run.env.name, fired))
    if problem:
        run.out.warn(f"webhook not delivered: {problem}")
        return {"posted": False, "error": problem}
    run.out.info(f"webhook: posted {len(fired)} alert(s)")
    return {"posted": True, "alerts": len(fired)}


def deliver(run: Run, spec: AlertSpec, found: list[rules.Alert]) -> dict:
    """Post every judged database rule to Alertmanager (firing and resolved); a failure is a
    warning, never a different exit (the alerts decide it)."""
    url = alertmanager_url(run)
    batch = am_alerts.payload(found, spec, run.env.name, periods.utc_now(),
                              run.env.notify.alertmanager.expire_after)
    if not batch:
        return {"posted": False, "reason": "no database rule enabled"}
    problem = am_alerts.post(url, batch, float(run.env.notify.timeout))
    firing = sum(1 for a in found if a.rule in am_alerts.DATABASE_RULES and a.fired)
    if problem:
        run.out.warn(f"alertmanager: not delivered: {problem}")
        return {"posted": False, "error": problem}
    run.out.info(f"alertmanager: posted {len(batch)} alert(s), {firing} firing, {len(batch) - firing} resolved")
    return {"posted": True, "alerts": len(batch), "firing": firing, "resolved": len(batch) - firing}

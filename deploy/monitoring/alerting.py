"""What monitor.alerts does: measure (database, then the API hosts), judge every rule, notify.

The database part never stops the run: an unreachable database or a failing query becomes an
`unreachable` alert of its own, so the webhook still says something is wrong. A missing
SellerRatings table is a ConfigError (exit 2): there is nothing to monitor before phase 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.cli import Run
from deploy.database_phases import open_db, sql_root
from deploy.errors import ConfigError, StepFailed
from deploy.monitoring import alerts as rules
from deploy.monitoring import collect, periods, webhook
from deploy.monitoring.alerts_spec import AlertSpec


@dataclass
class Outcome:
    alerts: list[rules.Alert] = field(default_factory=list)
    webhook: dict = field(default_factory=dict)

    @property
    def fired(self) -> list[rules.Alert]:
        return rules.fired(self.alerts)


def evaluate(run: Run, spec: AlertSpec, window: float) -> list[rules.Alert]:
    found = database_alerts(run, spec)
    if spec.needs_hosts:
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

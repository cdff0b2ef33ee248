"""Monitoring: the runbook's checks on live data (more land with the monitoring work)."""

from __future__ import annotations

from deploy.cli import Run, deploy_task
from deploy.database_phases import open_db, sql_root
from deploy.db import aggregates
from deploy.db.connect import has_table
from deploy.errors import EXIT_FAILED, ConfigError


@deploy_task()
def verify(run: Run):
    """Compare stored seller aggregates with the actual ratings in one set-based query (exit 1 if any differ)."""
    with open_db(run) as db:
        if not has_table(db, "SellerRatings"):
            raise ConfigError("no SellerRatings table yet: run deploy.phase1 first")
        found = aggregates.discrepancies(db, sql_root(run))
    if found:
        run.out.table("Aggregate discrepancies",
                      ["seller", "name", "stored total", "actual total", "stored positive",
                       "actual positive", "stored avg", "actual avg"],
                      [(d.seller_id, d.seller_name, d.stored_total, d.actual_total, d.stored_positive,
                        d.actual_positive, d.stored_average, d.actual_average) for d in found])
    run.out.line(f"{len(found)} seller(s) with discrepancies" if found else "no discrepancies")
    return {"discrepancies": found, "count": len(found), "_exit_code": EXIT_FAILED if found else 0}

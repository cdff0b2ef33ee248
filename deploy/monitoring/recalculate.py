"""The runbook's "recalculate-aggregates" fix (Common Issues, issue 1), set-based.

Checks first (one query); with nothing to fix it changes nothing and takes no backup. Otherwise,
under the executor (deploy lock + journal, phase "monitor"): a verified backup, then the same
set-based UPDATE as phase 4's backfill (it writes only rows that differ, so its row count is the
number of sellers changed), then the check again, which must find nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.run import Run
from deploy.db.run_database import open_db, sql_root, take_backup
from deploy.db import aggregates
from deploy.errors import StepFailed
from deploy.executor import executing
from deploy.monitoring.collect import require_ratings

PHASE = "monitor"
SQL_FILE = "backfill-rating-aggregates.sql"


@dataclass
class RecalcResult:
    before: int = 0
    sellers_changed: int = 0
    after: int = 0
    backup: dict | None = None
    dry_run_sql: str | None = None


def recalculate(run: Run, dry_run: bool = False, lock_wait: float = 0) -> RecalcResult:
    result = RecalcResult()
    with open_db(run) as db:
        require_ratings(db)
        result.before = len(aggregates.discrepancies(db, sql_root(run)))
    if dry_run:
        result.dry_run_sql = aggregates.sql_file(run.env.database.dialect, SQL_FILE, sql_root(run))
        return result
    if not result.before:
        return result
    with executing(run, PHASE, lock_wait) as ex:
        result.backup = take_backup(run, ex).as_dict()
        with ex.step("recalculate", details={"discrepancies": result.before}) as notes:
            result.sellers_changed = max(0, aggregates.backfill(ex.db, sql_root(run)))
            notes["sellers_changed"] = result.sellers_changed
        with ex.step("verify-aggregates") as notes:
            left = aggregates.discrepancies(ex.db, sql_root(run))
            result.after = notes["discrepancies"] = len(left)
            if left:
                raise StepFailed(f"{len(left)} seller(s) still disagree after the recalculation "
                                 f"(first: seller {left[0].seller_id})")
    return result

"""What the journal says about the feature flag and the soak clocks (the gates read it here).

    live state      the last successful phase3/rollout event ("percentage", "enabled", "configured")
    stage clock     the time of that event: how long the current stage has held
    phase-2 clock   the last successful phase 2 (phase2/finish ok): the API release's soak
    web release     the last successful web publish (command mode: what the CDN serves)

The journal is the one place every operator and CI job shares, so a gate never trusts a local
file; a phase 2 release renders the flag's journaled values into the new env file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from deploy.run import Run
from deploy.db import journal
from deploy.db.connect import Database, connect
from deploy.flag.rollout import FlagState, state_from_details

PHASE3, ROLLOUT = "phase3", "rollout"
PHASE2, FINISH = "phase2", "finish"
PUBLISH = "publish"


@dataclass(frozen=True)
class Journaled:
    state: FlagState | None          # None: never rolled out here
    changed_at: datetime | None      # when that state was reached
    api_released_at: datetime | None


def read(db: Database, environment: str) -> Journaled:
    last = journal.last_success(db, PHASE3, ROLLOUT, environment)
    api = journal.last_success(db, PHASE2, FINISH, environment)
    return Journaled(state_from_details(last.details) if last else None,
                     last.at if last else None, api.at if api else None)


def live_env(db: Database, environment: str) -> dict[str, str]:
    """The flag's env-file values as the last rollout left them; {} when it never moved."""
    state = read(db, environment).state
    return state.env() if state else {}


def live_env_quietly(run: Run) -> dict[str, str]:
    """live_env for a dry run, which takes no lock: a journal that cannot be read shows config."""
    try:
        with connect(run.database, Path(run.env.root)) as db:
            return live_env(db, run.env.name)
    except Exception as exc:
        run.out.warn(f"the journal cannot be read ({exc}); showing the flag as configured")
        return {}


def published_releases(db: Database, environment: str, app: str) -> list[str]:
    """Command mode: the releases published for `app`, newest first, each once."""
    seen: list[str] = []
    for event in journal.query(db, action=PUBLISH, outcome=journal.OK, environment=environment, limit=200):
        if event.details.get("app") == app and event.release and event.release not in seen:
            seen.append(event.release)
    return seen


def record_rollout(db: Database, environment: str, actor: str, details: dict) -> None:
    """A change of the flag's state by a run of another phase (rollback.frontend --flag-off):
    journaled as phase3/rollout too, so the gates and the monitoring report see one timeline."""
    journal.record(db, environment=environment, phase=PHASE3, action=ROLLOUT, outcome=journal.OK,
                   actor=actor, details=details)

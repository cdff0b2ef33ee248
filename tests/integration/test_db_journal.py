"""deploy_events on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from deploy.db import journal
from deploy.db.connect import connect
from deploy.secrets import Secret

pytestmark = pytest.mark.integration


def test_record_query_and_last_success(db_target):
    config, root = db_target
    secret = Secret("hunter2-very-secret", name="JWT_SECRET")
    t0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    with connect(config, root) as db:
        assert journal.query(db) == []                       # no table yet: nothing journalled
        assert journal.last_success(db, "phase2") is None
        journal.record(db, environment="staging", phase="phase2", action="release", outcome="ok",
                       actor="alice@ci", host="api-1", release="r1", duration_ms=1200, at=t0)
        journal.record(db, environment="staging", phase="phase2", action="release", outcome="failed",
                       actor="alice@ci", host="api-1", release="r2", at=t0 + timedelta(hours=1),
                       details={"error": f"token {secret.reveal()} rejected", "batch": 2})
        journal.record(db, environment="staging", phase="phase3", action="flag", outcome="ok",
                       actor="bob", at=t0 + timedelta(hours=2), details={"pct": 25})

        events = journal.query(db)
        assert [e.release for e in events] == [None, "r2", "r1"]          # newest first
        assert events[0].at == t0 + timedelta(hours=2) and events[0].at.tzinfo is not None
        assert events[1].details == {"error": "token *** rejected", "batch": 2}
        assert [e.phase for e in journal.query(db, phase="phase2")] == ["phase2", "phase2"]
        assert len(journal.query(db, limit=1)) == 1
        assert [e.release for e in journal.query(db, since=t0 + timedelta(minutes=30))] == [None, "r2"]
        last = journal.last_success(db, "phase2", "release")
        assert last.release == "r1" and last.duration_ms == 1200 and last.ok
        assert journal.last_success(db, "phase3").details == {"pct": 25}
        raw = db.scalar("SELECT details FROM deploy_events WHERE \"release\" = 'r2'")
        assert "hunter2" not in raw

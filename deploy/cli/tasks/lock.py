"""The deploy lock: who holds it, and holding deploys on purpose (a freeze) until released."""

from __future__ import annotations

from pathlib import Path

from deploy.cli.task import Run, deploy_task
from deploy.errors import ConfigError, LockHeld
from deploy.lazy import lazy
from deploy.cli.tasks.common import LOCK_WAIT, lock_wait_seconds

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
deploy_hold = lazy("deploy.db.hold")
journal = lazy("deploy.db.journal")
deploy_lock = lazy("deploy.db.lock")
db_connect = lazy("deploy.db.connect")

PHASE = "lock"


def lock_state(run: Run) -> dict:
    """The hold (if any) and the deploy running under the lock now (if any), as --json fields."""
    root = Path(run.env.root)
    db = db_connect.connect(run.database, root)
    try:
        held = deploy_hold.current(db, run.env.name)
        running = None
        if deploy_lock.in_use(run.database, root, db, run.env.name):
            holder = deploy_lock.current_holder(db, run.env.name)
            running = ({"holder": holder.holder, "task": holder.task, "since": holder.since.isoformat()}
                       if holder else {"holder": None, "task": None, "since": None})
    finally:
        db.close()
    return {"hold": held.as_dict() if held else None, "deploy": running}


def _when(iso: str | None) -> str:
    return f"{iso[:10]} {iso[11:19]}Z" if iso else "?"


def describe_state(state: dict) -> list[str]:
    lines = []
    if state["hold"]:
        h = state["hold"]
        lines.append(f"held by {h['holder']} since {_when(h['since'])}: {h['message']} (lock.release lifts it)")
    if state["deploy"]:
        d = state["deploy"]
        lines.append(f"in use by {d['holder'] or 'a deploy session'} since {_when(d['since'])} "
                     f"(task {d['task'] or '?'})")
    return lines or ["free: no hold, no deploy running"]


@deploy_task()
def status(run: Run):
    """Show who holds the deploy lock: a hold (who, since, why) and the deploy running now, if any."""
    state = lock_state(run)
    for line in describe_state(state):
        run.out.line(f"lock ({run.env.name}): {line}")
    return state


@deploy_task(aliases=("hold",), help={
    "message": "why deploys are held (e.g. 'incident 4711'); every refused deploy shows it (required)",
    "lock_wait": LOCK_WAIT,
})
def acquire(run: Run, message: str = None, lock_wait: str = None):
    """Hold deploys on purpose (an incident, a sale): every mutating task exits 3 until lock.release."""
    text = " ".join(str(message or "").split())
    if not text:
        raise ConfigError("--message TEXT is required: say why deploys are held")
    if len(text) > deploy_hold.MAX_MESSAGE:
        raise ConfigError(f"--message is {len(text)} characters; at most {deploy_hold.MAX_MESSAGE}")
    root = Path(run.env.root)
    # under the session lock: never while a deploy runs, and no deploy starts half-way through
    with deploy_lock.acquire(run.database, root, run.actor, run.task, wait_seconds=lock_wait_seconds(lock_wait),
                             environment=run.env.name, respect_hold=False):
        db = db_connect.connect(run.database, root)
        try:
            existing = deploy_hold.current(db, run.env.name)
            if existing is not None:
                raise LockHeld(f"{deploy_hold.describe(existing)}; lock.release it first to hold again")
            held = deploy_hold.put(db, run.env.name, run.actor, text)
            journal.record(db, environment=run.env.name, phase=PHASE, action="hold", outcome=journal.OK,
                           actor=run.actor, details={"message": text})
        finally:
            db.close()
    run.out.line(f"lock ({run.env.name}): {deploy_hold.describe(held)}; lock.release lifts it")
    return {"hold": held.as_dict()}


@deploy_task(help={"lock_wait": LOCK_WAIT})
def release(run: Run, lock_wait: str = None):
    """Lift the hold lock.acquire put in place (journaled with who held it and why)."""
    root = Path(run.env.root)
    with deploy_lock.acquire(run.database, root, run.actor, run.task, wait_seconds=lock_wait_seconds(lock_wait),
                             environment=run.env.name, respect_hold=False):
        db = db_connect.connect(run.database, root)
        try:
            held = deploy_hold.current(db, run.env.name)
            if held is not None:
                deploy_hold.remove(db, run.env.name)
                journal.record(db, environment=run.env.name, phase=PHASE, action="release", outcome=journal.OK,
                               actor=run.actor, details={"held_by": held.holder, "message": held.message,
                                                         "since": held.since.isoformat()})
        finally:
            db.close()
    if held is None:
        run.out.line(f"lock ({run.env.name}): no hold in place; nothing to release")
        return {"released": None}
    run.out.line(f"lock ({run.env.name}): released the hold of {held.holder} ({held.message})")
    return {"released": held.as_dict()}

"""The one wrapper around every mutating task: deploy lock + journal + recorded undo.

    with executing(run, phase="phase1", lock_wait=0) as ex:
        with ex.step("backup"):
            ...
        ex.on_failure("restore previous release", undo_fn)
        ...

- The lock is held by the task's own database session (deploy.db.lock): a second mutating task
  exits 3 naming the holder; a killed task leaves no lock.
- Every step writes a `deploy_events` row (action, host, release, outcome, duration, details).
- On any failure (or Ctrl-C) the undo actions registered so far run newest first, each journaled,
  then the error goes on to the task wrapper (exit 1 unless it carries another code).
As Kamal's `with_lock` does, the lock is released before the error is re-raised.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from deploy.output import progress
from deploy.run import Run
from deploy.db import journal
from deploy.db import lock as deploy_lock
from deploy.db.connect import Database, connect
from deploy.output.notify import notify
from deploy.secrets import mask

STARTED, OK, FAILED, UNDONE = "started", journal.OK, "failed", "undone"
# housekeeping that the team's channel need not hear about
QUIET_PHASES = {"backup"}


@dataclass
class Undo:
    description: str
    action: Callable[[], Any]


@dataclass
class Executor:
    run: Run
    phase: str
    db: Database
    undo_stack: list[Undo] = field(default_factory=list)
    undo_report: list[dict] = field(default_factory=list)
    release: str | None = None     # set by a phase that ships one: it goes into the messages

    @property
    def env(self):
        return self.run.env

    def event(self, action: str, outcome: str, *, host: str | None = None, release: str | None = None,
              duration_ms: int | None = None, details: dict[str, Any] | None = None) -> None:
        journal.record(self.db, environment=self.env.name, phase=self.phase, action=action,
                       outcome=outcome, actor=self.run.actor, host=host, release=release,
                       duration_ms=duration_ms, details=details)

    def event_quietly(self, action: str, outcome: str, **kwargs: Any) -> None:
        """On the failure path a journal write must not replace the error being handled (the
        database may be what failed). A write that fails is tried once more through a new
        connection - the server may have dropped the deploy's session (pg_terminate_backend, a
        failover) - and only then becomes a warning."""
        try:
            self.event(action, outcome, **kwargs)
            return
        except Exception as exc:
            lost = mask(str(exc))
        try:
            self.reconnect()
            details = dict(kwargs.pop("details", None) or {})
            details["journal"] = f"written through a new connection: the deploy's session failed ({lost})"
            self.event(action, outcome, details=details, **kwargs)
        except Exception as exc:
            self.run.out.warn(f"could not journal {self.phase}/{action} ({outcome}): {lost}; "
                              f"and through a new connection: {mask(str(exc))}")

    def reconnect(self) -> None:
        """Replace the journal's connection with a new one (the old one is closed, whatever state
        it is in: an open transaction on it is rolled back by the server)."""
        fresh = connect(self.run.database, Path(self.env.root))
        self.db.close()
        self.db = fresh

    @contextmanager
    def step(self, action: str, *, host: str | None = None, release: str | None = None,
             details: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Time a step and journal it; the yielded dict collects details to record."""
        notes: dict[str, Any] = dict(details or {})
        started = time.monotonic()
        try:
            with progress.wait(self.step_label(action, host)):
                yield notes
        except BaseException as exc:
            notes["error"] = mask(str(exc)) or type(exc).__name__
            self.event_quietly(action, FAILED, host=host, release=release,
                               duration_ms=_ms(started), details=notes)
            raise
        self.event(action, OK, host=host, release=release, duration_ms=_ms(started), details=notes)

    def step_label(self, action: str, host: str | None = None) -> str:
        """What a step shows while it runs on a terminal: `deploy.phase2: build`, `db.backup`."""
        task = self.run.task
        label = task if task.rsplit(".", 1)[-1] == action else f"{task}: {action}"
        return f"{label} on {host}" if host else label

    def on_failure(self, description: str, action: Callable[[], Any]) -> None:
        """Register how to undo what was just done; runs only if the task fails later."""
        self.undo_stack.append(Undo(description, action))

    def _undo_all(self) -> None:
        while self.undo_stack:
            undo = self.undo_stack.pop()
            started = time.monotonic()
            try:
                undo.action()
            except Exception as exc:  # keep undoing the rest; report what could not be undone
                error = mask(str(exc)) or type(exc).__name__
                self.undo_report.append({"undo": undo.description, "ok": False, "error": error})
                self.event_quietly("undo", FAILED, duration_ms=_ms(started),
                                   details={"undo": undo.description, "error": error})
                self.run.out.error(f"undo failed: {undo.description}: {error}")
            else:
                self.undo_report.append({"undo": undo.description, "ok": True})
                self.event_quietly("undo", OK, duration_ms=_ms(started), details={"undo": undo.description})
                self.run.out.info(f"undone: {undo.description}")


@contextmanager
def executing(run: Run, phase: str, lock_wait: float = 0,
              before: Callable[[], Any] | None = None) -> Iterator[Executor]:
    """Take the deploy lock, open the journal, and undo on failure (see module doc). `before`
    runs under the lock before the task begins (a read the task plans from, which must not go
    stale): what it raises goes on as it is, with nothing journaled or announced."""
    env = run.env
    root = Path(env.root)
    waiting = progress.wait("waiting for the deploy lock", total=lock_wait)
    with waiting, deploy_lock.acquire(run.database, root, run.actor, run.task, wait_seconds=lock_wait,
                                      environment=env.name, on_wait=lock_wait_note(run, lock_wait, waiting)):
        waiting.end()
        if before is not None:
            before()
        db = connect(run.database, root)
        ex = Executor(run=run, phase=phase, db=db)
        started = time.monotonic()

        def tell(outcome: str, **details: Any) -> None:
            if phase in QUIET_PHASES:
                return
            notify(env, phase, outcome, release=ex.release, actor=run.actor,
                   duration_s=None if outcome == "started" else time.monotonic() - started,
                   details={"task": run.task, **details}, warn=run.out.warn)

        try:
            ex.event("start", STARTED, details={"task": run.task})
            tell("started")
            try:
                yield ex
            except BaseException as exc:
                undoing = bool(ex.undo_stack)
                ex._undo_all()
                error = mask(str(exc)) or ("interrupted" if isinstance(exc, KeyboardInterrupt)
                                           else type(exc).__name__)
                ex.event_quietly("finish", UNDONE if undoing else FAILED, duration_ms=_ms(started),
                                 details={"task": run.task, "error": error, "undo": ex.undo_report})
                tell("undone" if undoing else "failed", error=error)
                raise
            ex.event("finish", OK, duration_ms=_ms(started), details={"task": run.task})
            tell("succeeded")
        finally:
            ex.db.close()         # the one in use: event_quietly may have replaced a lost one


def lock_wait_note(run: Run, lock_wait: float, waiting: progress.Wait | None = None):
    """The one line a task prints when it starts waiting for a held deploy lock (--lock-wait), and
    on a terminal the wait's progress (elapsed, time left) until the lock is taken or refused."""
    def note(holder: str) -> None:
        run.out.warn(f"deploy lock {holder}; waiting up to {lock_wait:g}s (--lock-wait)")
        if waiting is not None:
            waiting.begin(f"waiting for the deploy lock ({holder})")
    return note


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

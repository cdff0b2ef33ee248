"""Runs the journal shows started and never finished: a deploy killed (SIGKILL, a lost machine)
writes nothing on its way out, so its last `start` has no `finish`. Pure: events in, runs out."""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.db.journal import Event

START, FINISH = "start", "finish"
# A later run of these phases that finished (ok, or failed and undone) has put the hosts or the
# database in a known state again, settling a run of the key phase that never finished.
SETTLED_BY = {
    "phase1": {"phase1", "migrate", "rollback-database", "restore"},
    "phase2": {"phase2", "rollback-backend"},
    "phase3": {"phase3", "rollback-frontend"},
    "restart": {"restart", "phase2", "rollback-backend"},
}


@dataclass(frozen=True)
class UnfinishedRun:
    phase: str
    started: Event
    done: list[Event] = field(default_factory=list)   # what it journaled after its start, oldest first

    def describe(self) -> str:
        steps = ", ".join(_step(e) for e in self.done if e.ok) or "nothing"
        failed = ", ".join(_step(e) for e in self.done if not e.ok)
        tail = f"; failed: {failed}" if failed else ""
        return (f"{self.phase} started {self.started.at:%Y-%m-%d %H:%M:%S} UTC by {self.started.actor} "
                f"never finished (killed, or still running); it had done: {steps}{tail}")

    def as_dict(self) -> dict:
        return {"phase": self.phase, "started": self.started.at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": self.started.actor, "text": self.describe(),
                "done": [{"action": e.action, "host": e.host, "release": e.release, "outcome": e.outcome}
                         for e in self.done]}


def _step(event: Event) -> str:
    return f"{event.action} {event.host}" if event.host else event.action


def unfinished_runs(events: list[Event]) -> list[UnfinishedRun]:
    """Per phase, its newest `start` when no run that settles it (SETTLED_BY) finished after it.
    Events in any order."""
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    newest_start: dict[str, int] = {}
    for index, event in enumerate(ordered):
        if event.action == START:
            newest_start[event.phase] = index
    runs = []
    for phase, index in newest_start.items():
        settling = SETTLED_BY.get(phase, {phase})
        later = ordered[index + 1:]
        if any(e.action == FINISH and e.phase in settling for e in later):
            continue
        runs.append(UnfinishedRun(phase, ordered[index], [e for e in later if e.phase == phase]))
    return sorted(runs, key=lambda r: r.started.at)

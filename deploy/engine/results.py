"""One result type for every task on the engine, and the per-host table and rows it carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy.engine.runs import HostRun
from deploy.errors import DeployError
from deploy.run import Run
from deploy.secrets import mask


@dataclass
class Outcome:
    """How a run ended. `body` is what --json shows for the task (release, hosts, units, ...),
    readable as attributes (outcome.release); `undo` is None for a task with nothing to undo."""

    ok: bool
    body: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    error: str | None = None
    undo: list[dict] | None = None
    exit_code: int = 0

    def __getattr__(self, name: str) -> Any:
        body = self.__dict__.get("body")
        if body is not None and name in body:
            return body[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        body = self.__dict__.get("body")
        if body is not None and name in body:
            body[name] = value
        else:
            object.__setattr__(self, name, value)

    def as_dict(self) -> dict:
        data = dict(self.body)
        if self.dry_run:
            data["dry_run"] = True
        elif not self.ok:
            data["error"] = self.error
            if self.undo is not None:
                data["undo"] = self.undo
            data["_exit_code"] = self.exit_code
        return data

    @classmethod
    def failure(cls, exc: BaseException, body: dict[str, Any], ex=None, undo: bool = True) -> "Outcome":
        """After the executor undid what it could: the error, the undo report, the exit code."""
        return cls(ok=False, body=body, error=mask(str(exc)) or type(exc).__name__,
                   undo=(list(ex.undo_report) if ex else []) if undo else None,
                   exit_code=exc.exit_code if isinstance(exc, DeployError) else 1)


def host_rows(runs: dict[str, HostRun]) -> list[dict]:
    return [{"host": r.name, "before": r.before.current if r.before else None, "now": r.now,
             "target": r.target, "artifact": r.artifact, "switched": r.switched, "note": r.note,
             "health": r.gate.as_dict() if r.gate else None} for r in runs.values()]


def release_body(release: str | None, runs: dict[str, HostRun], manifest: dict | None = None,
                 smoke: list | None = None, pruned: dict | None = None) -> dict:
    """What --json shows of a release or a rollback of one."""
    return {"release": release, "hosts": host_rows(runs), "manifest": manifest, "smoke": smoke or [],
            "pruned": pruned or {}}


def table(run: Run, title: str, runs: dict[str, HostRun], release: str | None) -> None:
    rows = []
    for r in runs.values():
        health = f"ok in {r.gate.seconds:.1f}s" if r.gate and r.gate.ok else (r.gate.reason if r.gate else "")
        rows.append((r.name, r.before.current if r.before else "?", r.now or "-", health, r.note))
    run.out.table(title, ["host", "before", "now", "health gate", "note"], rows)

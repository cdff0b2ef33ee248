"""The health gate for an app pm2 runs: every worker on the new release, then the HTTP gate.

A pm2 cluster answers each request from one of its workers, so N healthy answers do not prove
that all of them were replaced. The gate therefore observes the workers themselves (pm2's process
list plus each worker's working folder from /proc, which the kernel resolved from the `current`
link when the worker started). Each reading asks the daemon afresh, through one helper process per
gate (deploy/process/pm2_workers.js: pm2's programmatic API, connected once) rather than one
`pm2 jlist` CLI start (~0.3 s of CPU) per reading; `pm2 jlist` remains the way when the helper
cannot run or stops answering (WorkerReader):

    1. workers: exactly the configured instances (at least one for "max"), all online, in the
       configured exec_mode, every one started in releases/<the release>;
    2. HTTP: the usual health gate (`checks/smoke.yaml`), with at least 2 x instances passes in a
       row (the cluster hands connections round-robin, so each worker answers);
    3. workers again: the same pids with the same restart counts - a worker that crashes at
       boot and is restarted by pm2 in a loop shows up here even if it was online at step 1.

Until the deadline a failed round starts over; then the gate fails naming the worker. A crash
loop does not heal by waiting out the deadline, so the gate ends early when it sees one: a worker
pm2 restarts CRASH_LOOP times while the gate watches, or one pm2 has given up on - down
(errored, stopped, waiting restart) with the same restart count for GAVE_UP seconds, far longer
than the ecosystem's 250 ms restart_delay. (pm2 stops restarting after max_restarts unstable
restarts; with a restart_delay set it then leaves the worker "waiting restart", not "errored".)
`worker_verdict` and `stable` are pure; `wait_workers` takes the reading and HTTP as functions.
"""

from __future__ import annotations

import posixpath
import time
from typing import Callable

from deploy.gates import health as gates
from deploy.gates.health import GateResult, HealthPolicy, Verdict
from deploy.process.pm2 import Pm2, Worker, parse_helper_line, parse_workers


def worker_verdict(workers: list[Worker], process: str, release: str, instances: int | str,
                   exec_mode: str) -> Verdict:
    """Are all of the app's workers online, as many as configured, and on `release`?"""
    mine = sorted((w for w in workers if w.name == process), key=lambda w: w.pm_id)
    if not mine:
        return Verdict(False, f"pm2 runs no {process}")
    if isinstance(instances, int) and len(mine) != instances:
        return Verdict(False, f"{len(mine)} workers, want {instances}")
    for w in mine:
        if w.status != "online":
            return Verdict(False, f"worker {w.pm_id} is {w.status} (restarts {w.restarts})")
        if w.exec_mode != exec_mode:
            return Verdict(False, f"worker {w.pm_id} runs in {w.exec_mode} mode, want {exec_mode} "
                                  f"(pm2 keeps a running app's mode: `pm2 delete {process}` once, then deploy)")
        on = release_of(w.cwd)
        if on != release:
            return Verdict(False, f"worker {w.pm_id} (pid {w.pid}) runs {on or w.cwd or 'an unknown folder'}, "
                                  f"want {release}")
    return Verdict(True, f"{len(mine)}/{len(mine)} workers online on {release}")


def release_of(cwd: str | None) -> str | None:
    """The release id of a folder <...>/releases/<id>, else None."""
    if not cwd:
        return None
    parent, name = posixpath.split(cwd.rstrip("/"))
    return name if posixpath.basename(parent) == "releases" else None


def stable(before: list[Worker], after: list[Worker], process: str) -> str | None:
    """None when the same workers (pid, restart count) ran through the HTTP gate, else why not."""
    then = {w.pm_id: (w.pid, w.restarts) for w in before if w.name == process}
    for w in after:
        if w.name != process:
            continue
        if then.get(w.pm_id) != (w.pid, w.restarts):
            return f"worker {w.pm_id} restarted during the gate (restarts {w.restarts}): it crashes?"
    return None


CRASH_LOOP = 3   # restarts of one worker during the gate that fail it before its deadline
GAVE_UP = 3.0    # seconds a worker stays down with the same restart count: pm2 has given up on it
DOWN = ("errored", "stopped", "waiting restart")


def looping(workers: list[Worker], seen: dict[int, int], process: str) -> bool:
    """Has a worker been restarted CRASH_LOOP times since the gate first saw it?"""
    return any(w.restarts - seen.get(w.pm_id, w.restarts) >= CRASH_LOOP
               for w in workers if w.name == process)


def given_up(workers: list[Worker], down: dict[int, tuple[int, float]], now: float,
             process: str) -> Worker | None:
    """The worker pm2 stopped restarting, if any. `down` (pm_id -> (restarts, since when)) is
    kept up to date here: a worker down with the same restart count since `since`."""
    for w in sorted((w for w in workers if w.name == process), key=lambda w: w.pm_id):
        if w.status not in DOWN:
            down.pop(w.pm_id, None)
            continue
        restarts, since = down.get(w.pm_id, (None, now))
        if restarts != w.restarts:
            down[w.pm_id] = (w.restarts, now)
        elif now - since >= GAVE_UP:
            return w
    return None


def crash_loop(workers: list[Worker], seen: dict[int, int], process: str) -> str:
    """The workers pm2 restarted while the gate watched - whatever state the last look caught them
    in (errored, launching, online in a folder not yet known), a crash loop is the cause to name."""
    looping = [f"worker {w.pm_id} restarted {w.restarts - seen[w.pm_id]} times during the gate "
               f"(restarts {w.restarts})" for w in sorted(workers, key=lambda w: w.pm_id)
               if w.name == process and w.restarts > seen.get(w.pm_id, w.restarts)]
    return f"; {', '.join(looping)}: it crashes at boot?" if looping else ""


def wait_workers(read: Callable[[], list[Worker]], http_gate: Callable[[int], GateResult], process: str,
                 release: str, instances: int | str, exec_mode: str, policy: HealthPolicy,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> GateResult:
    """Workers, then HTTP with `passes`, then workers unchanged - repeated until the deadline."""
    started = clock()
    attempts = 0
    url = ""
    rounds = gates.HealthPoll(policy)   # the policy's spacing and backoff between failed rounds
    seen: dict[int, int] = {}           # each worker's restart count when the gate first saw it
    down: dict[int, tuple[int, float]] = {}   # workers down: (restart count, since when)
    while True:
        attempts += 1
        first = read()
        for w in first:
            if w.name == process:
                seen.setdefault(w.pm_id, w.restarts)
        verdict = worker_verdict(first, process, release, instances, exec_mode)
        if verdict.ok:
            count = len([w for w in first if w.name == process])
            http = http_gate(max(policy.passes, 2 * count))
            url = http.url
            if not http.ok:
                return GateResult(False, url, http.reason, attempts + http.attempts, clock() - started,
                                  http.version)
            changed = stable(first, read(), process)
            if changed is None:
                return GateResult(True, url, f"healthy; {verdict.reason}", attempts + http.attempts,
                                  clock() - started, http.version)
            verdict = Verdict(False, changed)
        rounds.record(verdict)
        if looping(first, seen, process):
            reason = f"crash loop after {clock() - started:.1f}s: {verdict.reason}{crash_loop(first, seen, process)}"
            return GateResult(False, url or process, reason, attempts, clock() - started)
        dead = given_up(first, down, clock(), process)
        if dead is not None:
            reason = (f"pm2 gave up on worker {dead.pm_id} ({dead.status}, restarts {dead.restarts}, "
                      f"unchanged for {GAVE_UP:g}s){crash_loop(first, seen, process) or ': it crashes at boot?'}")
            return GateResult(False, url or process, reason, attempts, clock() - started)
        if clock() - started + rounds.wait > policy.deadline:
            reason = f"not ready within {policy.deadline:g}s: {verdict.reason}{crash_loop(first, seen, process)}"
            return GateResult(False, url or process, reason, attempts, clock() - started)
        sleep(rounds.wait)


def http_gate(url: str, release: str, policy: HealthPolicy) -> Callable[[int], GateResult]:
    """The HTTP health gate with a given number of passes (for wait_workers)."""
    def gate(passes: int) -> GateResult:
        return gates.wait_healthy(url, release, policy.model_copy(update={"passes": passes}))
    return gate


def wait_ready(host, manager, program, url: str, release: str, policy: HealthPolicy,
               sleep: Callable[[float], None] = time.sleep) -> GateResult:
    """The gate of one host after a restart: pm2 -> workers + HTTP (above); others -> HTTP
    (`sleep`: its pause between polls - deploy.engine.starting's, while the restart runs beside)."""
    if not isinstance(manager, Pm2):
        return gates.wait_healthy(url, release, policy, sleep=sleep)
    settings = program.pm2
    instances = settings.instances if settings else 1
    exec_mode = settings.exec_mode if settings else "fork"

    reader = WorkerReader(host, manager)
    try:
        return wait_workers(reader.read, http_gate(url, release, policy), program.process, release,
                            instances, exec_mode, policy)
    finally:
        reader.close()


class WorkerReader:
    """The workers, asked of pm2's daemon: through one helper process for the whole gate
    (deploy/process/pm2_workers.js, pm2's programmatic API), each reading a fresh question to the
    daemon; `pm2 jlist` (+ /proc) per reading when the helper cannot run or stops answering."""

    def __init__(self, host, manager: Pm2):
        self.host, self.manager = host, manager
        self.session = None
        self.helper_failed = False

    def read(self) -> list[Worker]:
        if not self.helper_failed:
            if self.session is None:
                self.session = self.host.session(self.manager.workers_helper_command())
            answer = self.session.ask(timeout=30)
            for _ in range(20):      # lines before the answer (a banner) are skipped
                workers = parse_helper_line(answer) if answer is not None else None
                if workers is not None:
                    return workers
                if answer is None:
                    break
                answer = self.session.ask(None, timeout=30)
            self.close()
            self.helper_failed = True
        return parse_workers(self.host.run(self.manager.workers_command(), check=False, timeout=30).stdout)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def cluster_policy(program, policy: HealthPolicy) -> HealthPolicy:
    """An HTTP-only gate (the flag's, after a reload) on a pm2 cluster: 2 x instances passes in a
    row, so that every worker has answered (connections go round-robin)."""
    settings = program.pm2
    if settings is None or settings.exec_mode != "cluster" or not isinstance(settings.instances, int):
        return policy
    return policy.model_copy(update={"passes": max(policy.passes, 2 * settings.instances)})

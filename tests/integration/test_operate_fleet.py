"""`invoke logs` and `invoke restart` on three real sshd hosts, with a real supervisord or pm2 on
each: the stand-in API is deployed with phase 2 first, then its logs are read (and followed until
Ctrl-C) host by host, and it is restarted rolling - new pids, healthy on the same release,
journaled. An unreachable host is reported without hiding the others."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from datetime import datetime, timezone

import pytest
import requests

from tests.integration.test_phase2_support import (APP_DIR, TEST_JWT_SECRET, journal_events,
                                                   make_project, wait_for)

LOG_DIR = f"{APP_DIR}/shared/logs"


def task(project, *args, **kw):
    """`invoke ARGS --env fleet` from the repository (logs and restart come from tasks.py)."""
    return project.invoke(*args, **kw)


def hit(project, host, path: str) -> None:
    """One request the app logs (a 404 carries the path into its access log)."""
    requests.get(f"http://{host.address}:{project.port}{path}", timeout=5)


def app_pids(host) -> list[int]:
    """The stand-in API's processes on a host, found from /proc (not through the pipeline)."""
    found = []
    for pid in host.pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"marketplace.api" in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def streamers(host) -> list[str]:
    """Log readers still running on a host (a followed stream must end with the task)."""
    left = []
    for pid in host.pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (b"tail" in argv[:1] or any(a.endswith(b"/tail") for a in argv[:1])) or b"logs" in argv:
            left.append(" ".join(a.decode() for a in argv))
    return left


class Follower:
    """`invoke logs --follow` in the background, its stdout collected line by line."""

    def __init__(self, project, *args: str):
        self.proc = task(project, "logs", "--follow", *args, wait=False)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, start: str, text: str = "") -> bool:
        return any(line.startswith(start) and text in line for line in list(self.lines))

    def interrupt(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=20)
        self.reader.join(timeout=5)
        return code, self.proc.stderr.read()


@pytest.mark.parametrize("manager", ["supervisor", "pm2"])
def test_logs_and_restart_over_the_fleet(tmp_path, fleet3, manager):
    project = make_project(tmp_path, fleet3, manager)
    hosts = fleet3.hosts
    proc, doc = project.deploy()
    assert proc.returncode == 0, proc.stderr
    release = doc["release"]

    # -- logs: what each host's app wrote, prefixed by its host; secrets masked ----------------------
    marks = {h.name: f"/mark-{uuid.uuid4().hex[:10]}" for h in hosts}
    for host in hosts:
        hit(project, host, marks[host.name])
    hosts[0].run(f"echo 'leaked token={TEST_JWT_SECRET}' >> {LOG_DIR}/marketplace-api.err.log")
    out = task(project, "logs", "--lines", "20")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for host in hosts:
        mine = [line for line in lines if line.startswith(f"{host.name} | ")]
        assert any(marks[host.name] in line for line in mine), (host.name, out.stdout[-2000:])
        assert any('"msg":"listening"' in line for line in mine)   # the app's start, from the same log
        others = [m for name, m in marks.items() if name != host.name]
        assert not any(m in line for line in mine for m in others)
    assert f"{hosts[0].name} | leaked token=***" in lines           # the err stream, masked
    assert TEST_JWT_SECRET not in out.stdout + out.stderr

    picked = task(project, "logs", "--lines", "5", "--json", "--host", f"{hosts[2].name},{hosts[0].name}")
    assert picked.returncode == 0, picked.stderr
    doc = json.loads(picked.stdout)
    assert [h["host"] for h in doc["hosts"]] == [hosts[2].name, hosts[0].name]
    assert all(h["ok"] and 0 < len(h["lines"]) <= 10 for h in doc["hosts"])   # 5 per stream at most
    assert doc["lines"] == 5 and doc["app"] == "api"

    grepped = task(project, "logs", "--lines", "20", "--json", "--grep", marks[hosts[1].name])
    assert grepped.returncode == 0, grepped.stderr
    found = {h["host"]: h["lines"] for h in json.loads(grepped.stdout)["hosts"]}
    assert found[hosts[1].name] and all(marks[hosts[1].name] in line for line in found[hosts[1].name])
    assert found[hosts[0].name] == [] and found[hosts[2].name] == []

    # --since: by each line's own time (the app's JSON "time"); a line without one goes with the
    # stamped line before it; an old stamped line and its trace are left out
    hosts[1].run(f"""printf '%s\\n' '{{"time":"2001-01-01T00:00:00Z","msg":"ancient"}}' '  ancient trace' """
                 f"""'{{"time":"{datetime.now(timezone.utc).isoformat()}","msg":"fresh"}}' '  fresh trace' """
                 f">> {LOG_DIR}/marketplace-api.err.log")
    recent = task(project, "logs", "--since", "1h", "--json", "--role", "api")
    assert recent.returncode == 0, recent.stderr
    doc = json.loads(recent.stdout)
    found = {h["host"]: h["lines"] for h in doc["hosts"]}
    assert doc["lines"] == 10_000 and doc["since"]
    assert any(marks[hosts[1].name] in line for line in found[hosts[1].name])
    assert not any("ancient" in line for line in found[hosts[1].name])
    assert '"msg":"fresh"' in found[hosts[1].name][-2] and found[hosts[1].name][-1] == "  fresh trace"
    old = task(project, "logs", "--since", "2000-01-01T00:00Z", "--lines", "50", "--host", hosts[1].name)
    assert old.returncode == 0 and "ancient trace" in old.stdout, old.stderr
    future = task(project, "logs", "--since", "2999-01-01T00:00:00+00:00", "--json")
    assert future.returncode == 0 and all(h["lines"] == [] for h in json.loads(future.stdout)["hosts"])

    for bad, message in ((("--app", "nope"), "unknown app 'nope'"), (("--host", "host9"), "unknown host(s): host9"),
                         (("--lines", "0"), "--lines must be at least 1"),
                         (("--grep", "a("), "--grep: 'a(' is not a regular expression"),
                         (("--since", "yesterday"), "--since: 'yesterday' is neither a duration"),
                         (("--role", "db"), "--role: unknown role(s) db (roles of ")):
        refused = task(project, "logs", *bad)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1

    # -- logs --follow: every host at once, until Ctrl-C (exit 0), nothing left running -----------
    follower = Follower(project, "--lines", "1")
    # deadlines, not waits: pm2's log bus can lag by seconds on a busy machine
    wait_for(lambda: len({line.split(" | ")[0] for line in follower.lines}) == 3, timeout=60)
    live = {h.name: f"/live-{uuid.uuid4().hex[:10]}" for h in hosts}
    for host in hosts:
        hit(project, host, live[host.name])
    wait_for(lambda: all(follower.saw(f"{name} | ", mark) for name, mark in live.items()), timeout=60)
    assert all(streamers(h) for h in hosts)   # one reader per host, while following ...
    code, err = follower.interrupt()
    assert code == 0, err
    for host in hosts:                        # ... and none after Ctrl-C (the pty hung them up)
        wait_for(lambda: not streamers(host), timeout=10)

    # -- restart: rolling, new pids, healthy on the same release, journaled --------------------------
    before = {h.name: app_pids(h) for h in hosts}
    assert all(len(p) == 1 for p in before.values()), before
    # --dry-run: the plan per batch and host, the commands a run sends; nothing restarted or journaled
    planned = task(project, "restart", "--dry-run", "--json")
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert doc["dry_run"] is True and [r["host"] for r in doc["hosts"]] == [h.name for h in hosts]
    for row in doc["hosts"]:
        assert row["release"] == release and row["pid"] == before[row["host"]][0]
        assert any(manager in step for step in row["steps"]) and row["steps"][-1].startswith("gate")
    assert {h.name: app_pids(h) for h in hosts} == before
    assert journal_events(project, "restart") == []
    restarted = task(project, "restart", "--json")
    assert restarted.returncode == 0, restarted.stderr
    doc = json.loads(restarted.stdout)
    after = {h.name: app_pids(h) for h in hosts}
    for row in doc["hosts"]:
        assert row["release"] == release and row["in_service"] and row["health"]["ok"]
        assert row["pid_before"] == before[row["host"]][0]
        assert row["pid_after"] == after[row["host"]][0] != before[row["host"]][0]
    assert project.versions() == [release] * 3
    events = journal_events(project, "restart")
    assert [e[0] for e in events if e[0] in ("start", "finish")] == ["start", "finish"]
    assert events[-1][2] == "ok"
    for action in ("restart", "health"):
        assert sorted(e[1] for e in events if e[0] == action and e[2] == "ok") == sorted(h.name for h in hosts)

    # -- --host / --role: only the named host is touched; unknown names exit 2 listing the known ones ---
    before = {h.name: app_pids(h) for h in hosts}
    one = task(project, "restart", "--host", hosts[1].name, "--role", "api", "--json")
    assert one.returncode == 0, one.stderr
    assert [r["host"] for r in json.loads(one.stdout)["hosts"]] == [hosts[1].name]
    after = {h.name: app_pids(h) for h in hosts}
    assert after[hosts[1].name] != before[hosts[1].name]
    assert {n: p for n, p in after.items() if n != hosts[1].name} == \
        {n: p for n, p in before.items() if n != hosts[1].name}
    seen = task(project, "status", "--host", hosts[0].name, "--json")
    assert seen.returncode == 0, seen.stderr
    assert [h["host"] for h in json.loads(seen.stdout)["hosts"]] == [hosts[0].name]
    listed = task(project, "deploy.releases", "--host", f"{hosts[0].name},{hosts[2].name}", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [h["host"] for h in json.loads(listed.stdout)["hosts"]] == [hosts[0].name, hosts[2].name]
    for args in (["restart", "--host", "api-9"], ["status", "--role", "db"], ["rollback.backend", "--host", "x"]):
        bad = task(project, *args)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, (args, bad.stderr)
        assert ", ".join(h.name for h in hosts) in bad.stderr or "roles of" in bad.stderr, bad.stderr
    assert {h.name: app_pids(h) for h in hosts} == after

    # -- an unreachable host: its error, the others' logs, exit 1; restart refuses, changes nothing ---
    hosts[2].cut_ssh()
    partial = task(project, "logs", "--lines", "3")
    assert partial.returncode == 1
    assert f"{hosts[2].name}:" in partial.stderr and "cannot reach" in partial.stderr
    for host in hosts[:2]:
        assert f"{host.name} | " in partial.stdout
    assert f"{hosts[2].name} | " not in partial.stdout

    follower = Follower(project, "--lines", "1")
    wait_for(lambda: follower.saw(f"{hosts[0].name} | ") and follower.saw(f"{hosts[1].name} | "), timeout=30)
    code, err = follower.interrupt()
    assert code == 1 and f"{hosts[2].name}:" in err, err

    pids = {h.name: app_pids(h) for h in hosts}
    refused = task(project, "restart")
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr, refused.stderr
    assert {h.name: app_pids(h) for h in hosts} == pids

"""32 hosts, a rolling deploy in batches of 25% (max_fail 1), one host of batch 2 crashed: batches
1 and 2 are put back, batches 3 and 4 are never touched (same process, no switch), and the
per-host table says so, host by host (issue 14)."""

from __future__ import annotations

import json
import signal
import time

from tests.integration.test_faults_support import app_pids
from tests.integration.test_phase2_support import journal_events, make_project, wait_for

HOSTS = 32
BATCH = 8            # 25% of 32
CRASHED = "host10"   # the second host of batch 2


def test_32_hosts_a_crash_in_batch_2_undoes_batches_1_2_and_leaves_3_4_alone(tmp_path, fleet_factory):
    started = time.monotonic()
    fleet = fleet_factory(HOSTS)
    fleet_up = time.monotonic() - started
    try:
        project = make_project(tmp_path, fleet, batches={"size": HOSTS, "max_fail": 0})
        ssh = project.env.ssh.model_dump()
        project.set_environment(ssh={**{k: ssh[k] for k in ("user", "key_file", "known_hosts")},
                                     "connect_timeout": 30, "command_timeout": 120, "parallel": 8})
        first, doc = project.deploy(timeout=900)
        assert first.returncode == 0, first.stderr
        v1 = doc["release"]
        first_deploy = time.monotonic() - started - fleet_up

        names = [h.name for h in fleet.hosts]
        batch1, batch2, later = names[:BATCH], names[BATCH:2 * BATCH], names[2 * BATCH:]
        assert CRASHED in batch2
        pids = {h.name: app_pids(h) for h in fleet.hosts}
        assert all(pids.values()), pids

        project.set_environment(batches={"size": "25%", "max_fail": 1})
        before = len(journal_events(project, "phase2"))
        rolled = time.monotonic()
        proc = project.invoke("deploy.phase2", "--json", wait=False)
        try:
            # every host of batch 1 switched: batch 2 has not begun (it waits for batch 1's gates)
            def batch1_switched() -> bool:
                events = journal_events(project, "phase2")[before:]
                return {h for a, h, o, _ in events if a == "switch" and o == "ok"} >= set(batch1)
            wait_for(lambda: batch1_switched() or proc.poll() is not None, timeout=600, interval=0.05)
            assert proc.poll() is None, proc.communicate()
            events = journal_events(project, "phase2")[before:]
            assert not [e for e in events if e[0] == "switch" and e[1] not in batch1], events
            fleet.host(CRASHED).crash()
            out, err = proc.communicate(timeout=900)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        rollout = time.monotonic() - rolled
        assert proc.returncode == 1, out + err
        doc = json.loads(out)
        assert f"rollout failed on {CRASHED}: {CRASHED}:" in doc["error"], doc["error"]

        events = journal_events(project, "phase2")[before:]
        touched = {h for a, h, o, _ in events if a in ("switch", "restart", "health") and o == "ok"}
        assert touched == set(batch1 + batch2) - {CRASHED}, sorted(touched)
        assert [(a, o) for a, h, o, _ in events if h == CRASHED and a != "upload"] == [("switch", "failed")]
        rows = {r["host"]: r for r in doc["hosts"]}
        assert list(rows) == names
        for name in batch1 + batch2:
            if name == CRASHED:
                continue
            row = rows[name]
            assert (row["switched"], row["now"], row["note"]) == (True, v1, "switched back"), row
        assert rows[CRASHED]["now"] is None and rows[CRASHED]["note"].startswith("unreachable"), rows[CRASHED]
        for name in later:
            assert (rows[name]["switched"], rows[name]["now"], rows[name]["note"]) == (False, v1, "untouched"), rows[name]
        assert f"rollout failed on {CRASHED}" in err

        alive = [h for h in fleet.hosts if h.name != CRASHED]
        assert [project.current(h) for h in alive] == [v1] * (HOSTS - 1)
        assert project.versions() == [v1 if h.name != CRASHED else None for h in fleet.hosts]
        for host in alive:
            same = app_pids(host) == pids[host.name]
            assert same == (host.name in later), (host.name, app_pids(host), pids[host.name])
            assert project.releases_on(host) == [v1], host.name     # the new upload removed again
        print(f"\n32 hosts: fleet up in {fleet_up:.1f}s, first deploy (one batch) {first_deploy:.1f}s, "
              f"failed rolling deploy with undo {rollout:.1f}s, total {time.monotonic() - started:.1f}s")
    finally:
        fleet.stop()

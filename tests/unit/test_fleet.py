"""Fleet batching and max-fail, with hosts that do no I/O."""

import threading
import time

from deploy.config import environment as config
from deploy.hosts.fleet import Fleet, batch_size, batches


def env_with(n: int, size=1, max_fail=0):
    return config.Environment.model_validate({
        "name": "t",
        "hosts": [{"name": f"h{i}", "transport": "local"} for i in range(1, n + 1)],
        "batches": {"size": size, "max_fail": max_fail},
        "database": {"dialect": "sqlite", "path": "x"},
    })


def test_batch_sizes():
    assert batch_size(2, 5) == 2
    assert batch_size("50%", 4) == 2
    assert batch_size("10%", 4) == 1           # never zero
    assert batch_size(10, 3) == 3
    assert [len(b) for b in batches(list(range(5)), 2)] == [2, 2, 1]
    assert [len(b) for b in batches(list(range(4)), "25%")] == [1, 1, 1, 1]


def test_parallel_within_batch_sequential_between():
    seen: list[tuple[str, float]] = []
    lock = threading.Lock()

    def work(host):
        with lock:
            seen.append((host.name, time.monotonic()))
        time.sleep(0.2)
        return host.name

    fleet = Fleet(env_with(4, size=2))
    started = time.monotonic()
    result = fleet.run(work)
    took = time.monotonic() - started
    assert result.ok and [o.value for o in result.outcomes] == ["h1", "h2", "h3", "h4"]
    assert took >= 0.39                 # two batches, one after the other
    starts = dict(seen)
    assert abs(starts["h1"] - starts["h2"]) < 0.15
    assert starts["h3"] - starts["h1"] >= 0.19


def test_max_fail_stops_later_batches():
    calls: list[str] = []

    def work(host):
        calls.append(host.name)
        if host.name in ("h1", "h2"):
            raise RuntimeError(f"{host.name} broke")
        return "ok"

    result = Fleet(env_with(5, size=1, max_fail=1)).run(work)
    assert calls == ["h1", "h2"]
    assert result.aborted and not result.ok
    by = result.by_host()
    assert by["h1"].error == "h1 broke" and not by["h1"].skipped
    assert all(by[h].skipped for h in ("h3", "h4", "h5"))


def test_failures_within_max_fail_continue():
    result = Fleet(env_with(3, size=1, max_fail=1)).run(
        lambda h: (_ for _ in ()).throw(RuntimeError("x")) if h.name == "h2" else 1)
    assert not result.aborted
    assert [o.ok for o in result.outcomes] == [True, False, True]
    assert [o.host for o in result.failed] == ["h2"]


def test_ssh_parallel_caps_hosts_worked_on_at_once():
    env = config.Environment.model_validate({
        "name": "t", "hosts": [{"name": f"h{i}", "transport": "local"} for i in range(1, 8)],
        "batches": {"size": 7, "max_fail": 0}, "ssh": {"parallel": 3},
        "database": {"dialect": "sqlite", "path": "x"}})
    lock = threading.Lock()
    running, most = [0], [0]
    gate = threading.Barrier(3, timeout=5)   # 3 must run together (a cap of 1 or 2 would hang here)

    def work(host):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if host.name in ("h1", "h2", "h3"):
            gate.wait()
        with lock:
            running[0] -= 1
        return host.name

    result = Fleet(env).run(work)
    assert result.ok and [o.value for o in result.outcomes] == [f"h{i}" for i in range(1, 8)]
    assert most[0] == 3
    assert env_with(1).ssh.parallel == 16

"""Hosts and Fleet over real sshd test hosts: host keys, connection reuse, batches, max-fail,
preflight facts and status of a crashed host."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deploy.config import environment as config
from deploy.commands.shell import chain, cmd
from deploy.errors import HostUnreachable
from deploy.hosts.fleet import Fleet
from tests.support import invoke_fork
from tests.support.envs import REPO, fleet_environment, make_root


def load_env(tmp_path, fleet, **kw):
    root = make_root(tmp_path / "project", "fleet", fleet_environment(fleet, **kw))
    return config.load("fleet", root=root), root


def invoke(root, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true"})
    return invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def accepted(host) -> int:
    return host.log.read_text(errors="replace").count("Accepted publickey")


def test_unknown_host_key_is_refused_and_never_added(tmp_path, fleet3):
    known = fleet3.write_known_hosts(tmp_path / "known_hosts", hosts=[fleet3.hosts[0]])
    before = known.read_text()
    env, _ = load_env(tmp_path, fleet3, known_hosts=known)
    with Fleet(env) as fleet:
        assert fleet.hosts[0].run(cmd("true")).ok
        with pytest.raises(HostUnreachable) as exc:
            fleet.hosts[1].run(cmd("true"))
    message = str(exc.value)
    assert "host key of" in message and "is unknown; refusing to connect" in message
    assert "ssh-keyscan" in message
    assert known.read_text() == before


def test_changed_host_key_is_refused(tmp_path, fleet3):
    host = fleet3.hosts[0]
    known = fleet3.write_known_hosts(tmp_path / "known_hosts", wrong_key_for=[host])
    env, _ = load_env(tmp_path, fleet3, known_hosts=known)
    with Fleet(env) as fleet, pytest.raises(HostUnreachable, match="CHANGED"):
        fleet.hosts[0].run(cmd("true"))
    assert accepted(host) == 0


def test_one_connection_per_host_for_a_whole_task(tmp_path, fleet3):
    env, _ = load_env(tmp_path, fleet3)
    with Fleet(env) as fleet:
        for _ in range(3):
            result = fleet.run(lambda h: [h.run(cmd("hostname")).ok for _ in range(4)], size=3)
            assert result.ok
        assert [h.connections_opened for h in fleet.hosts] == [1, 1, 1]
    assert [accepted(h) for h in fleet3.hosts] == [1, 1, 1]


def test_a_task_opens_one_connection_per_host(tmp_path, fleet3):
    _, root = load_env(tmp_path, fleet3)
    before = [accepted(h) for h in fleet3.hosts]
    proc = invoke(root, "checks.preflight", "--env", "fleet", "--only", "hosts", "--json")
    assert proc.returncode in (0, 1), proc.stderr
    assert [accepted(h) - b for h, b in zip(fleet3.hosts, before)] == [1, 1, 1]


def test_batches_run_in_parallel_within_and_in_order_between(tmp_path, fleet3):
    """Proven by when each host's command ran (one clock: the hosts share this machine's), not by
    wall time, which a busy machine stretches."""
    env, _ = load_env(tmp_path, fleet3)
    timed = chain([cmd("date", "+%s.%N"), cmd("sleep", "0.5"), cmd("date", "+%s.%N")])

    def spans(result) -> list[tuple[float, float]]:
        out = []
        for host_result in result.by_host().values():
            started, ended = host_result.value.stdout.split()
            out.append((float(started), float(ended)))
        return sorted(out)

    with Fleet(env) as fleet:
        together = fleet.run(lambda h: h.run(timed), size=3)
        one_by_one = fleet.run(lambda h: h.run(timed), size=1)
    assert together.ok and one_by_one.ok
    parallel = spans(together)
    assert max(start for start, _ in parallel) < min(end for _, end in parallel), \
        f"a batch of 3 ran one after another: {parallel}"
    serial = spans(one_by_one)
    assert all(later[0] >= earlier[1] for earlier, later in zip(serial, serial[1:])), \
        f"batches of 1 overlapped: {serial}"


def test_max_fail_stops_after_a_crashed_host(tmp_path, fleet3):
    env, _ = load_env(tmp_path, fleet3, batches={"size": 1, "max_fail": 0})
    fleet3.hosts[1].crash()
    with Fleet(env) as fleet:
        result = fleet.run(lambda h: h.run(cmd("uname", "-n")).stdout)
    by = result.by_host()
    names = [h.name for h in fleet3.hosts]
    assert by[names[0]].ok
    assert not by[names[1]].ok and "cannot reach" in by[names[1]].error
    assert by[names[2]].skipped and result.aborted
    assert accepted(fleet3.hosts[2]) == 0


def test_preflight_reads_real_facts_from_each_host(tmp_path, fleet3):
    _, root = load_env(tmp_path, fleet3)
    fleet3.hosts[0].run("mkdir -p /srv/marketplace && head -c 3000000 /dev/zero > /srv/marketplace/blob")
    proc = invoke(root, "checks.preflight", "--env", "fleet", "--only", "hosts", "--json")
    doc = json.loads(proc.stdout)
    items = {i["name"]: i for i in doc["items"]}
    assert f"{fleet3.hosts[0].name}: CPUs" in items, doc["items"]
    for host in fleet3.hosts:
        cpus = host.run("nproc").stdout.strip()
        assert items[f"{host.name}: CPUs"]["detail"].startswith(f"{cpus} ")
        free_kb = int(host.run("df -Pk /srv | tail -1").stdout.split()[3])
        disk = items[f"{host.name}: free disk"]["detail"]
        assert disk.startswith(f"{free_kb // 1024} MB free on /srv"), disk
        assert items[f"{host.name}: reachable"]["status"] == "pass"
        assert items[f"{host.name}: clock skew"]["status"] == "pass"
    # the first host's /srv holds 3 MB more than the others: its own tmpfs, measured for real
    first = int(items[f"{fleet3.hosts[0].name}: free disk"]["detail"].split()[0])
    second = int(items[f"{fleet3.hosts[1].name}: free disk"]["detail"].split()[0])
    assert second - first >= 2


def test_preflight_fails_on_threshold_with_exit_1(tmp_path, fleet3):
    _, root = load_env(tmp_path, fleet3)
    (root / "checks" / "preflight.yaml").write_text("hosts: {min_free_disk_mb: 999999999}\n")
    proc = invoke(root, "checks.preflight", "--env", "fleet", "--only", "hosts", "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    failed = {i["name"]: i["detail"] for i in doc["items"] if i["status"] == "fail"}
    for h in fleet3.hosts:
        assert "(min 999999999)" in failed.pop(f"{h.name}: free disk")
    # the hosts' PATH has no supervisord (it lives in the project's venv): reported, not hidden
    assert set(failed) <= {f"{h.name}: supervisor" for h in fleet3.hosts}


def test_status_reports_a_crashed_host_as_down(tmp_path, fleet3):
    _, root = load_env(tmp_path, fleet3, extra={
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": str(REPO / "examples/marketplace"),
                         "start": "true", "port": 3000}}})
    fleet3.hosts[2].crash()
    proc = invoke(root, "status", "--env", "fleet", "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    hosts = {h["host"]: h for h in doc["hosts"]}
    assert doc["down"] == [fleet3.hosts[2].name]
    assert hosts[fleet3.hosts[0].name]["reachable"] is True
    assert hosts[fleet3.hosts[0].name]["apps"]["api"]["state"] == "absent"
    assert "cannot reach" in hosts[fleet3.hosts[2].name]["error"]

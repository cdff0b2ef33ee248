"""The fleet fixture itself: real sshd hosts, private /srv, crash, network cut, clean teardown."""

from __future__ import annotations

import sys
import socket
import subprocess
import uuid
from pathlib import Path

import paramiko
import pytest

pytestmark = pytest.mark.integration


def connect(fleet, host, known_hosts=None) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or fleet.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host.address, host.port, username=host.user, key_filename=str(fleet.client_key),
                   look_for_keys=False, allow_agent=False, timeout=5)
    return client


def ssh(fleet, host, command: str) -> str:
    with connect(fleet, host) as client:
        _, stdout, stderr = client.exec_command(command, timeout=10)
        status = stdout.channel.recv_exit_status()
        out = stdout.read().decode()
        assert status == 0, stderr.read().decode()
        return out


def start_sleeper(fleet, host) -> int:
    """A background process started over ssh, detached from the session; returns its pid."""
    return int(ssh(fleet, host, "setsid nohup sleep 300 >/dev/null 2>&1 </dev/null & echo $!"))


def refuses(host) -> bool:
    try:
        socket.create_connection((host.address, host.port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_hosts_accept_the_client_key_with_host_key_verification(fleet3):
    assert [h.name for h in fleet3.hosts] == ["host1", "host2", "host3"]
    assert len({h.address for h in fleet3.hosts}) == 3
    for host in fleet3.hosts:
        assert host.address.startswith("127.")
        # the session runs inside the host's namespace, not on the real machine
        assert ssh(fleet3, host, "readlink /proc/self/ns/mnt").strip() == host.mnt_ns


def test_openssh_client_logs_in_with_the_fleet_files(fleet3):
    host = fleet3.host("host2")
    result = subprocess.run(
        ["ssh", "-i", str(fleet3.client_key), "-o", f"UserKnownHostsFile={fleet3.known_hosts}",
         "-o", "BatchMode=yes", "-p", str(host.port), f"{host.user}@{host.address}", "echo", "ok"],
        capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
    )
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


def test_known_hosts_helper_leaves_out_and_falsifies_hosts(fleet3, tmp_path):
    partial = fleet3.write_known_hosts(tmp_path / "known_hosts", hosts=["host1", "host2"], wrong_key_for="host2")
    connect(fleet3, fleet3.host("host1"), partial).close()
    with pytest.raises(paramiko.BadHostKeyException):
        connect(fleet3, fleet3.host("host2"), partial)
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        connect(fleet3, fleet3.host("host3"), partial)


def test_srv_and_tmp_are_private_per_host_while_the_venv_is_shared(fleet3):
    host1, host2 = fleet3.host("host1"), fleet3.host("host2")
    marker = f"fleet-test-{uuid.uuid4().hex}"
    ssh(fleet3, host1, f"mkdir -p /srv/marketplace && touch /srv/marketplace/{marker} /tmp/{marker}")
    assert host1.run(f"ls /srv/marketplace/{marker} /tmp/{marker}").returncode == 0
    assert host2.run(f"test -e /srv/marketplace/{marker} || test -e /tmp/{marker}", check=False).returncode == 1
    assert not Path(f"/srv/marketplace/{marker}").exists()
    assert not Path(f"/tmp/{marker}").exists()
    python = Path(sys.executable)
    assert host2.run(f"{python} -c 'print(1)'").stdout == "1\n"


def test_crash_refuses_connections_and_leaves_no_process(fleet3):
    host = fleet3.host("host1")
    sleeper = start_sleeper(fleet3, host)
    before = host.pids()
    assert sleeper in before and host.sshd_pid in before
    host.crash()
    assert refuses(host)
    assert host.pids() == []
    assert [p for p in before if Path(f"/proc/{p}").exists()] == []  # reaped too, no zombies
    with pytest.raises(RuntimeError, match="down"):
        host.run("true")
    assert ssh(fleet3, fleet3.host("host2"), "echo up") == "up\n"  # the others are unharmed


def test_cut_ssh_keeps_the_host_running_and_restore_brings_ssh_back(fleet3):
    host = fleet3.host("host3")
    ssh(fleet3, host, "echo kept > /srv/state")
    sleeper = start_sleeper(fleet3, host)
    old_sshd = host.sshd_pid
    host.cut_ssh()
    assert refuses(host)
    assert sleeper in host.pids() and old_sshd not in host.pids()
    host.restore_ssh()
    assert host.sshd_pid != old_sshd
    assert ssh(fleet3, host, f"cat /srv/state; kill -0 {sleeper} && echo alive") == "kept\nalive\n"


def test_stopping_a_fleet_leaves_no_process(fleet_factory, fleet3):
    fleet = fleet_factory(2)
    assert not {h.address for h in fleet.hosts} & {h.address for h in fleet3.hosts}
    for host in fleet.hosts:
        start_sleeper(fleet, host)
        host.run("sleep 300 >/dev/null 2>&1 &")  # one started from outside ssh as well
    before = {p for host in fleet.hosts for p in host.pids()}
    fleet.stop()
    assert [h.pids() for h in fleet.hosts] == [[], []]
    assert all(refuses(h) for h in fleet.hosts)
    assert {p for p in before if Path(f"/proc/{p}/ns/mnt").exists()} == set()

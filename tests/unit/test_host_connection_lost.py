"""SSHHost: a connection that dies during a command is dropped and reported as unreachable.

The connection is a fake (no sshd): what is checked is what run() makes of its failures - the
host and the command named, the reason masked, the dead connection closed and forgotten so the
next use opens a new one. (The real thing, a host killed mid-deploy, is in the fleet tests.)
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from deploy import secrets
from deploy.commands.shell import cmd
from deploy.errors import HostUnreachable
from deploy.hosts.fleet import SSHHost


class FakeConnection:
    def __init__(self, fails: BaseException | None = None, exited: int | None = 0):
        self.fails, self.exited, self.closed = fails, exited, False

    def run(self, line, **kw):
        if self.fails is not None:
            raise self.fails
        return SimpleNamespace(stdout="", stderr="", exited=self.exited)

    def close(self):
        self.closed = True


def host_on(conn: FakeConnection) -> SSHHost:
    host = object.__new__(SSHHost)      # no Environment, no sshd: only what run() uses
    host.name, host._conn, host._lock = "web-1", conn, threading.Lock()
    host._ssh = SimpleNamespace(command_timeout=5, connect_timeout=5)
    host._connection = lambda: conn
    return host


def test_an_error_on_the_wire_names_host_command_and_masked_reason_and_drops_the_connection(monkeypatch):
    secret = "pw-" + "q" * 20
    monkeypatch.setattr(secrets, "_known", set())
    secrets.register(secret)
    conn = FakeConnection(fails=OSError(f"Socket is closed (auth {secret})"))
    host = host_on(conn)
    with pytest.raises(HostUnreachable) as caught:
        host.run(cmd("echo", "hi"))
    assert str(caught.value) == "web-1: connection lost during `echo hi`: Socket is closed (auth ***)"
    assert conn.closed and host._conn is None


def test_an_error_without_text_is_named_by_its_type():
    host = host_on(FakeConnection(fails=EOFError()))
    with pytest.raises(HostUnreachable, match=r"during `true`: EOFError$"):
        host.run(cmd("true"))


def test_a_command_without_an_exit_status_means_the_connection_went_away():
    conn = FakeConnection(exited=-1)
    host = host_on(conn)
    with pytest.raises(HostUnreachable) as caught:
        host.run(cmd("true"))
    assert str(caught.value) == "web-1: connection lost during `true`"
    assert conn.closed and host._conn is None


def test_a_command_that_ran_is_no_connection_loss():
    conn = FakeConnection(exited=3)
    assert host_on(conn).run(cmd("false"), check=False).exit_code == 3
    assert not conn.closed

"""Reach a database that only the fleet can see: a local port forwarded over SSH (like ssh -L).

`DatabaseTunnel(env).database()` returns the environment's DatabaseConfig pointed at the local
end of the forward, so every consumer (connections, the lock, pg_dump, pg_restore) goes through it
without knowing. The forward is Fabric's `forward_local` on the host named by
`database.tunnel_via`; it lives until `close()`.
"""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

from deploy.config.environment import DatabaseConfig, Environment
from deploy.db import odbc
from deploy.errors import ConfigError, HostUnreachable
from deploy.hosts.fleet import SSHHost
from deploy.secrets import Secret, reveal


def free_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, deadline: float = 5.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise HostUnreachable(f"the SSH tunnel's local port {port} did not open")


class DatabaseTunnel:
    def __init__(self, env: Environment):
        self.env = env
        self._stack = ExitStack()
        self._database: DatabaseConfig | None = None
        self.local_port: int | None = None

    def database(self) -> DatabaseConfig:
        db = self.env.database
        if not db.tunnel_via:
            return db
        if self._database is None:
            self._database = self._open(db)
        return self._database

    def _open(self, db: DatabaseConfig) -> DatabaseConfig:
        hosts = {h.name: h for h in self.env.hosts}
        if db.tunnel_via not in hosts or hosts[db.tunnel_via].transport != "ssh":
            raise ConfigError(f"{self.env.source_file}: database.tunnel_via: {db.tunnel_via!r} is not an "
                              f"SSH host of this environment")
        if db.dialect == "sqlite":
            raise ConfigError(f"{self.env.source_file}: database.tunnel_via: sqlite has no server to tunnel to")
        text = reveal(db.odbc)
        remote_host, remote_port = odbc.server_address(text, db.dialect)
        host = SSHHost(hosts[db.tunnel_via], self.env)
        self._stack.callback(host.close)
        port = free_local_port()
        conn = host.connection()
        self._stack.enter_context(conn.forward_local(local_port=port, local_host="127.0.0.1",
                                                     remote_port=remote_port, remote_host=remote_host))
        _wait_listening(port)
        self.local_port = port
        local = odbc.with_server(text, db.dialect, "127.0.0.1", port)
        return db.model_copy(update={"odbc": Secret(local, name="database.odbc"), "tunnel_via": None})

    def close(self) -> None:
        self._stack.close()
        self._database = None

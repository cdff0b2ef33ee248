"""The load balancer: HAProxy's runtime API over its admin socket.

`load_balancer` in the environment is the admin endpoint: `host:port` (HAProxy's
`stats socket ipv4@host:port level admin`) or the path of a local unix socket. The backend is
the app's process name (marketplace-api) and each server is named after its host in the
inventory. A host leaves traffic before it is touched: drain (no new sessions), wait until its
current sessions reach 0 or a deadline, then maint; after its health gate passes, ready.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Callable

from deploy.commands import haproxy
from deploy.config.environment import Environment
from deploy.errors import ConfigError, StepFailed


@dataclass(frozen=True)
class DrainResult:
    seconds: float
    sessions_left: int     # > 0 when the deadline came first


class HAProxy:
    def __init__(self, endpoint: str, timeout: float = 5.0):
        self.endpoint = endpoint
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        if self.endpoint.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.endpoint)
            return sock
        host, _, port = self.endpoint.rpartition(":")
        return socket.create_connection((host.strip("[]"), int(port)), timeout=self.timeout)

    def send(self, command: str) -> str:
        """One runtime command; HAProxy answers and closes (non-interactive mode)."""
        try:
            with self._connect() as sock:
                sock.sendall(command.encode() + b"\n")
                chunks = []
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except OSError as exc:
            raise StepFailed(f"load balancer {self.endpoint}: `{command}` failed: "
                             f"{exc.strerror or exc}") from None
        return b"".join(chunks).decode(errors="replace")

    def set_state(self, backend: str, server: str, state: str) -> None:
        command = haproxy.set_state(backend, server, state)
        error = haproxy.error_of(self.send(command))
        if error:
            raise StepFailed(f"load balancer {self.endpoint}: `{command}`: {error}")

    def sessions(self, backend: str, server: str) -> int:
        """Current plus queued sessions of one server."""
        stats = haproxy.parse_stat(self.send(haproxy.show_stat()))
        stat = stats.get((backend, server))
        if stat is None:
            raise StepFailed(f"load balancer {self.endpoint}: no server {backend}/{server}")
        return stat.current_sessions + stat.queued

    def state(self, backend: str, server: str) -> haproxy.ServerState | None:
        return self.states(backend).get(server)

    def states(self, backend: str) -> dict[str, haproxy.ServerState]:
        return haproxy.parse_servers_state(self.send(haproxy.show_servers_state(backend)))

    def drain(self, backend: str, server: str, deadline: float, interval: float = 0.1,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> DrainResult:
        """drain, wait for 0 sessions (or the deadline), then maint."""
        started = clock()
        self.set_state(backend, server, "drain")
        left = self.sessions(backend, server)
        while left > 0 and clock() - started < deadline:
            sleep(interval)
            left = self.sessions(backend, server)
        self.set_state(backend, server, "maint")
        return DrainResult(clock() - started, left)

    def ready(self, backend: str, server: str) -> None:
        self.set_state(backend, server, "ready")


def for_env(env: Environment) -> HAProxy | None:
    """The configured load balancer, or None when traffic needs no draining."""
    if not env.load_balancer:
        return None
    endpoint = env.load_balancer.strip()
    if not endpoint.startswith("/"):
        host, sep, port = endpoint.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError(f"{env.source_file}: load_balancer: {endpoint!r} is neither host:port "
                              "nor a unix socket path")
    return HAProxy(endpoint)

"""Run: what a task body works with - the environment, its output, who acts, the database to use.

Library modules take a Run; only the CLI layer (deploy.cli.task) makes one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # config (pydantic) and output (rich) load when a task runs, not for --list/--help
    from deploy.config.environment import DatabaseConfig, Environment
    from deploy.output.console import Output


@dataclass
class Run:
    task: str
    env: Environment
    out: Output
    actor: str
    started: float = field(default_factory=time.monotonic)
    _tunnel: Any = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def database(self) -> DatabaseConfig:
        """The database config to use: through the SSH tunnel when `tunnel_via` is set."""
        if not self.env.database.tunnel_via:
            return self.env.database
        if self._tunnel is None:
            from deploy.hosts.tunnel import DatabaseTunnel
            self._tunnel = DatabaseTunnel(self.env)
        return self._tunnel.database()

    def close(self) -> None:
        if self._tunnel is not None:
            self._tunnel.close()
            self._tunnel = None

"""Process-manager adapters behind one small interface (supervisord, pm2, systemd).

Each adapter builds commands (pure) and parses status output (pure); hosts run them.
"""

from __future__ import annotations

from deploy.config import ProcessSettings
from deploy.process.base import ProcessManager, ProcessState
from deploy.process.pm2 import Pm2
from deploy.process.supervisor import Supervisor
from deploy.process.systemd import Systemd

__all__ = ["ProcessManager", "ProcessState", "for_settings"]


def for_settings(settings: ProcessSettings, conf_default: str) -> ProcessManager:
    """The adapter configured for an environment."""
    if settings.manager == "supervisor":
        return Supervisor(settings.supervisor_conf or conf_default)
    if settings.manager == "pm2":
        return Pm2(settings.pm2_bin, settings.pm2_home)
    return Systemd()

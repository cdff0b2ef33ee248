"""Process-manager adapters behind one small interface (supervisord, pm2, systemd).

Each adapter builds commands and renders config files (pure) and parses status output (pure);
hosts run them.

    base.py            the interface every process-manager adapter offers
    pm2.py             pm2 through an ecosystem file and `pm2 jlist`
    pm2_workers.js     run on a host (node): pm2's workers through pm2's API, one process per health gate
    supervisor.py      supervisord: one supervisord per host, one program file per app
    supervisor_rpc.py  run on a host (stdlib only): supervisord's XML-RPC over its unix socket, from one short process
    systemd.py         systemd units through systemctl (builders and parser; no systemd on the test machines)
    templates.py       rendering of the Jinja2 templates in templates/ (env file, process-manager configs)
"""

from __future__ import annotations

from deploy.config.environment import Environment, ProcessSettings
from deploy.process.base import ConfigFile, ProcessManager, ProcessState, Program
from deploy.process.pm2 import Pm2
from deploy.process.supervisor import Supervisor
from deploy.process.systemd import Systemd

__all__ = ["ConfigFile", "ProcessManager", "ProcessState", "Program", "bin_dir", "for_environment", "for_settings"]

def bin_dir(settings: ProcessSettings) -> str | None:
    """Where the process manager's binaries live on the hosts; None means the login PATH."""
    return settings.bin_dir or None


def for_environment(env: Environment) -> ProcessManager:
    """The environment's adapter; supervisord's config defaults to <deploy_to>/supervisor/."""
    return for_settings(env.process, f"{env.deploy_to}/supervisor/supervisord.conf")


def for_settings(settings: ProcessSettings, conf_default: str) -> ProcessManager:
    """The adapter configured for an environment."""
    if settings.manager == "supervisor":
        return Supervisor(settings.supervisor_conf or conf_default, bin_dir(settings))
    if settings.manager == "pm2":
        return Pm2(settings.pm2_bin, settings.pm2_home)
    return Systemd()

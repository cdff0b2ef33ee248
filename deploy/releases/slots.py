"""Blue and green: the two slots an app has on a host for the side-by-side switch (pure).

    blue   the app's own process name and port, env file shared/<app>.env - what in_place runs;
           the load balancer's server named after the host
    green  <process>-green on apps.<app>.alt_port, env file shared/<app>-green.env; the LB's
           server <host>-green (declared beside the other, e.g. `disabled` at first)

A release boots in the slot that does not serve, from its own folder (releases/<id>), so the
running one is never touched before the load balancer moves. The slot that serves is recorded
on the host in <app_dir>/slot (absent = blue), beside `current`, which says what it runs.
"""

from __future__ import annotations

import dataclasses
import posixpath
import shlex
from dataclasses import dataclass

from deploy.commands import release as rc
from deploy.commands.release import AppLayout, HostReleases
from deploy.commands.shell import OR, SEMI, Command, chain, cmd
from deploy.config.environment import AppConfig, Environment
from deploy.errors import ConfigError
from deploy.process.base import Program

BLUE, GREEN = "blue", "green"
SLOT_FILE = "slot"


@dataclass(frozen=True)
class Slot:
    name: str          # blue | green
    process: str       # the process manager's name for this slot
    port: int
    env_file: str


def chosen(env: Environment, config: AppConfig) -> bool:
    """Does a release of this app switch side by side? (`switch:`, else: an LB and an alt_port)."""
    if env.switch is not None:
        return env.switch == "side_by_side"
    return bool(env.load_balancer) and config.alt_port is not None


def check(env: Environment, app: str, config: AppConfig) -> None:
    """Side by side needs the second slot's port (ConfigError: exit 2, nothing changed)."""
    if chosen(env, config) and config.alt_port is None:
        raise ConfigError(f"{env.source_file}: switch: side_by_side needs apps.{app}.alt_port "
                          "(the port the new release boots on beside the running one)")


def slot(name: str, config: AppConfig, layout: AppLayout) -> Slot:
    if name == BLUE:
        return Slot(BLUE, config.process, config.port, layout.env_file)
    if name == GREEN:
        if config.alt_port is None:
            raise ConfigError(f"apps.{layout.app}.alt_port is not set: the green slot has no port")
        return Slot(GREEN, f"{config.process}-{GREEN}", config.alt_port,
                    posixpath.join(layout.shared_dir, f"{layout.app}-{GREEN}.env"))
    raise ValueError(f"no slot {name!r}")


def server(host: str, where: Slot) -> str:
    """The load balancer's server for a host's slot: <host> (blue), <host>-green."""
    return host if where.name == BLUE else f"{host}-{where.name}"


def other(name: str) -> str:
    return GREEN if name == BLUE else BLUE


def program(base: Program, config: AppConfig, layout: AppLayout, where: Slot, release: str) -> Program:
    """The app's program as it runs in a slot: its own name, env file, and the release's folder."""
    command = config.start.replace("{env_file}", shlex.quote(where.env_file))
    return dataclasses.replace(base, process=where.process, command=command, env_file=where.env_file,
                               directory=layout.release_dir(release))


def serving_program(base: Program, config: AppConfig, layout: AppLayout, where: Slot) -> Program:
    """The program that serves now, for stopping or starting it again (its config stays as is)."""
    command = config.start.replace("{env_file}", shlex.quote(where.env_file))
    return dataclasses.replace(base, process=where.process, command=command, env_file=where.env_file)


# -- on the host -------------------------------------------------------------------------------------
def slot_file(layout: AppLayout) -> str:
    return layout.link(SLOT_FILE)


def read(layout: AppLayout) -> Command:
    """The recorded slot (nothing when none is recorded)."""
    return cmd("cat", slot_file(layout), rc.QUIET_ERR, OR, "true")


SLOT_MARK = "@@deploy-slot"


def inspect_with_slot(layout: AppLayout) -> Command:
    """The host's releases (commands.release.inspect) and its recorded slot: one round trip."""
    return chain([rc.inspect(layout), cmd("echo", SLOT_MARK), read(layout)], SEMI)


def parse_inspect_with_slot(stdout: str) -> tuple[HostReleases, str]:
    """`inspect_with_slot`'s output: the releases and the serving slot's name."""
    listing, _, recorded = stdout.partition(SLOT_MARK + "\n")
    return rc.parse_inspect(listing), parse(recorded)


def parse(stdout: str) -> str:
    """The serving slot from `read`'s output: green when recorded, else blue."""
    word = stdout.strip()
    if word not in ("", BLUE, GREEN):
        raise ValueError(f"{word[:40]!r} is not a slot")
    return word or BLUE


def record(layout: AppLayout, name: str) -> Command:
    """Write the serving slot atomically (temporary file + rename), like the links."""
    temporary = layout.link(f".{SLOT_FILE}.tmp")
    return cmd("printf", "%s\\n", name, rc.TO, temporary).then(cmd("mv", "-f", temporary, slot_file(layout)))


def install_env(layout: AppLayout, release: str, where: Slot) -> Command:
    """The staged env file (0600) becomes the slot's own (the serving slot's is not touched)."""
    return cmd("mv", "-f", layout.staged_env(release), where.env_file)

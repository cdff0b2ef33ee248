"""--host / --role: which hosts a task acts on, checked against the inventory.

Pure: the environment's hosts in, the chosen ones out, or one line naming what is wrong (exit 2)
with the known names, before anything connects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from deploy.errors import ConfigError

if TYPE_CHECKING:   # annotations only: task modules read the flag help without loading config
    from deploy.config.environment import Environment, HostConfig

HOST_HELP = "only this host (repeat the flag, or a comma list); default every host the task acts on"
ROLE_HELP = "only hosts with this role (repeat, or a comma list), e.g. api"


def names(values: str | Sequence[str] | None) -> list[str]:
    """A flag given once or more, each a name or a comma list -> names, in order, once each."""
    if values is None:
        return []
    given = [values] if isinstance(values, str) else list(values)
    found: list[str] = []
    for value in given:
        for name in str(value).split(","):
            name = name.strip()
            if name and name not in found:
                found.append(name)
    return found


def select(env: Environment, candidates: Iterable[HostConfig], hosts: Sequence[str] = (),
           roles: Sequence[str] = (), what: str = "this task") -> list[HostConfig]:
    """The candidates named by --host and carrying a --role (both optional; both must hold)."""
    candidates = list(candidates)
    hosts, roles = names(list(hosts)), names(list(roles))
    known_hosts = [h.name for h in env.hosts]
    unknown = [n for n in hosts if n not in known_hosts]
    if unknown:
        raise ConfigError(f"--host: unknown host(s) {', '.join(unknown)} "
                          f"(hosts of {env.name}: {', '.join(known_hosts) or 'none'})")
    known_roles = sorted({r for h in env.hosts for r in h.roles})
    unknown = [r for r in roles if r not in known_roles]
    if unknown:
        raise ConfigError(f"--role: unknown role(s) {', '.join(unknown)} "
                          f"(roles of {env.name}: {', '.join(known_roles) or 'none'})")
    eligible = {h.name for h in candidates}
    outside = [n for n in hosts if n not in eligible]
    if outside:
        raise ConfigError(f"--host: {', '.join(outside)} not among the hosts of {what} "
                          f"({', '.join(h.name for h in candidates) or 'none'})")
    chosen = [h for h in candidates
              if (not hosts or h.name in hosts) and (not roles or set(h.roles) & set(roles))]
    if not chosen:
        raise ConfigError(f"--role {','.join(roles)}: none of the hosts of {what} has it "
                          f"({', '.join(h.name for h in candidates) or 'none'})")
    return chosen

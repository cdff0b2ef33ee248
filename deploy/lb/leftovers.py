"""After a failed run behind a load balancer: which hosts may still be out of traffic.

A run drains a host (drain, then maint) before it touches it and sets it ready again after its
health gate, or in its undo. When the load balancer vanishes half-way, those last calls fail and
the hosts may stay in maint once it comes back (HAProxy keeps runtime states across a reload
only with a state file). The operator has to be told which ones. Observe, then say: when the
load balancer answers, the hosts it holds in maint or drain; when it does not, every host this
run drained and never saw set ready again.
"""

from __future__ import annotations

from deploy.commands import haproxy
from deploy.errors import StepFailed


def maybe_out_of_traffic(lb, backend: str, drained: list[str],
                         unconfirmed: list[str]) -> tuple[list[str], str | None]:
    """(hosts that may still be in maint or drain, why the load balancer could not say).
    `drained`: the hosts this run drained; `unconfirmed`: those of them never seen set ready."""
    if lb is None or not drained:
        return [], None
    try:
        states = haproxy.parse_servers_state(lb.send(haproxy.show_servers_state(backend)))
    except StepFailed as exc:
        return list(unconfirmed), str(exc)
    return [h for h in drained if h in states and not states[h].ready], None


def sentence(hosts: list[str], unreachable: str | None, backend: str = "<backend>") -> str | None:
    """The line the operator reads (and the --json error carries), or None when all are back."""
    if not hosts:
        return None
    why = " (the load balancer does not answer, so this run cannot tell)" if unreachable else ""
    return (f"hosts that may still be in maint at the load balancer: {', '.join(hosts)}{why} - "
            f"set them ready once it is back (`set server {backend}/<host> state ready`) after checking them")


def with_note(error: str, ctx, runs) -> str:
    """phase 2's error, with the sentence about this run's drained hosts when there is one.
    Unreachable, the hosts not confirmed back in traffic count (drained, never set ready)."""
    drained = [r.name for r in runs.values() if r.drained]
    unconfirmed = [r.name for r in runs.values() if r.drained and not r.in_service]
    hosts, unreachable = maybe_out_of_traffic(ctx.lb, ctx.backend, drained, unconfirmed)
    line = sentence(hosts, unreachable, ctx.backend)
    return f"{error}; {line}" if line else error

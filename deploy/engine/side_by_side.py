"""The side-by-side release switch (Kamal's): boot beside the running release, then move the LB.

    1. every host: the release uploaded (or, for a rollback, already there), its env file and
       process config rendered for the slot that does not serve (deploy.releases.slots)
    2. batch by batch: every host of the batch starts the new slot and passes its health gate in
       parallel while the old slot serves; one failure and nothing of the batch is switched
    3. host by host: the LB's server of the new slot goes ready and the old slot's server drain
       (each host has a server per slot: <host> for blue, <host>-green), `current` and the slot
       record follow
    4. after the last batch (and phase 2's smoke checks): the old slots' servers wait for 0
       sessions and go to maint, then the old processes stop

Why two servers and not `set server B/S addr IP port P` on one: HAProxy (2.6) keeps reusing its
idle keep-alive connections to the old address after the change (measured: the old process still
got half the requests for seconds after it), so stopping it would cut requests. A server in
drain gets no new request, its idle connections included.

So a deploy costs about one boot and one gate, not one per host. Each host's undo is registered
before its new slot starts: before the switch it stops the new process; after it, it puts the
LB, the links and the slot record back (starting the old slot again if it was stopped).

The interface is narrow: `chosen(ctx)`, then `release(...)` from phase 2 after the build, or
`switch(...)` from rollback.backend, with phase 2's context, host runs, journal and executor.
Each host's steps (upload, boot + gate, the switch, the old slot's stop) come from the builders
of the engine's SideBySide strategy (deploy.engine.strategy), which --dry-run prints.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from deploy.flag import journal as flag_journal
from deploy.gates import health as gates
from deploy.releases import steps as releases, slots
from deploy.engine import starting as spawn
from deploy.engine import workers as worker_gate
from deploy.engine.roll import raise_failed, smoke
from deploy.engine.strategy import Pair, boot_steps, move_steps, quiet, stop_old_steps
from deploy.engine.turn import explained
from deploy.commands import release as rc
from deploy.commands.shell import chain
from deploy.errors import StepFailed
from deploy.hosts.fleet import Fleet, Host, batches
from deploy.releases.steps import Exec, Upload
from deploy.secrets import Secret

if TYPE_CHECKING:
    from deploy.commands.release import HostReleases
    from deploy.engine.ship import ReadAhead


@dataclass
class SlotRun:
    """One host's two slots in this run (pair: the serving slot, the LB points at its port; the
    new one, the release boots there; their programs) and what the run got done."""

    pair: Pair
    started: bool = False         # the new slot was (being) started
    moved: bool = False           # the LB was (being) moved to the new slot
    linked: bool = False          # current / previous / slot record (being) switched
    old_stopped: bool = False     # the old slot was (being) stopped

    serving = property(lambda self: self.pair.serving)
    new = property(lambda self: self.pair.new)
    program = property(lambda self: self.pair.program)   # the new slot's
    old = property(lambda self: self.pair.old)           # the serving slot's
    address = property(lambda self: self.pair.address)


def chosen(ctx) -> bool:
    """Does this app's release switch side by side here? (ConfigError when it cannot.)"""
    slots.check(ctx.env, ctx.app, ctx.config)
    return slots.chosen(ctx.env, ctx.config) and ctx.lb is not None


def serving_slot(host: Host, env, app: str) -> slots.Slot:
    """The slot that serves an app on a host (for status): the record where the app switches
    side by side, else blue."""
    config = env.apps[app]
    layout = releases.layout_for(env, app)
    name = slots.BLUE
    if slots.chosen(env, config) and config.alt_port is not None:
        name = slots.parse(host.run(slots.read(layout), check=False, timeout=30).stdout)
    return slots.slot(name, config, layout)


# -- phase 2 ---------------------------------------------------------------------------------------------
def release(run, ctx, fleet: Fleet, runs: dict, ex, journal, built, token: Secret | None,
            ahead: ReadAhead | None = None) -> tuple[list[gates.SmokeResult], dict[str, list[str]]]:
    """Phase 2 after the build: upload into the idle slots, boot + gate by batch, switch, smoke,
    stop the old slots, prune. Returns the smoke results and what was pruned. `ahead`: the
    hosts' reads (read_host) done during the build."""
    release_id = built.manifest.release
    plans = observe(run, ctx, fleet, runs, release_id, ahead=ahead)
    upload(run, ctx, fleet, runs, plans, ex, journal, built)
    for r in runs.values():
        r.target, r.previous = release_id, r.before.current
    switch(run, ctx, fleet, runs, ex, journal, plans=plans, stop_old=False)
    smoke = smoke_checks(run, ctx, ex, plans, release_id, token)
    stop_old_slots(run, ctx, fleet, runs, plans, journal)
    from deploy.engine.ship import prune   # lazy: the engine's rollback imports this module
    pruned = prune(run, ctx, fleet, runs, journal, release_id)
    return smoke, pruned


def read_host(ctx) -> Callable[[Host], tuple[HostReleases, str]]:
    """A host's releases and serving slot's name, in one round trip (read-only)."""
    def read(host: Host) -> tuple[HostReleases, str]:
        return slots.parse_inspect_with_slot(host.run(slots.inspect_with_slot(ctx.layout), timeout=30).stdout)
    return read


def observe(run, ctx, fleet: Fleet, runs: dict, release_id: str | None, read: bool = True,
            ahead: ReadAhead | None = None) -> dict[str, SlotRun]:
    """Each host's serving slot (read on the host - or by `ahead`, during the build; read=False:
    as the caller read it, into each HostRun's before and slot) and the LB agreeing with it;
    read-only."""
    ctx.check_lb()
    lb_states = ctx.lb.states(ctx.backend)
    plans: dict[str, SlotRun] = {}

    def look(host: Host) -> None:
        r = runs[host.name]
        if read:   # the releases, and the slot that serves: one round trip
            r.before, name = ahead.take(host) if ahead is not None else read_host(ctx)(host)
            r.slot = slots.slot(name, ctx.config, ctx.layout)
        serving = r.slot or slots.slot(slots.BLUE, ctx.config, ctx.layout)
        plan = plans[host.name] = SlotRun(Pair(ctx, releases.host_address(host.config), serving,
                                               release_id or r.target))
        problem = lb_problem(lb_states, host.name, serving, plan.new)
        if problem:
            raise StepFailed(f"{host.name}: load balancer backend {ctx.backend}: {problem} - nothing was changed")

    result = fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    raise_failed(result, "reading the slots")
    return plans


def lb_problem(states: dict, host: str, serving: slots.Slot, new: slots.Slot) -> str | None:
    """Why the LB's servers of a host do not fit its slots (pure), or None: both servers exist on
    their slots' ports, the serving one takes traffic, the other is in maint."""
    for where, want_maint in ((serving, False), (new, True)):
        name = slots.server(host, where)
        state = states.get(name)
        if state is None:
            return f"no server {name} (side by side needs a server per slot: {host} and {host}-green)"
        if state.port and state.port != where.port:
            return f"server {name} points at port {state.port}, its {where.name} slot listens on {where.port}"
        if state.maint != want_maint:
            return (f"server {name} is {'in maint' if state.maint else 'not in maint'}, but the "
                    f"{where.name} slot {'serves' if not want_maint else 'does not serve'}")
    return None


def upload(run, ctx, fleet: Fleet, runs: dict, plans: dict[str, SlotRun], ex, journal, built) -> None:
    """To every host at once: the release, the new slot's env file and process config."""
    release_id = built.manifest.release

    def work(host: Host) -> None:
        r, plan = runs[host.name], plans[host.name]
        with journal.step("upload", host=host.name, release=release_id) as notes:
            notes.update(before=r.before.current, slot=plan.new.name)
            prepare, artifact, *rest = upload_steps(ctx, host.config, plan.pair, release_id, built.path,
                                                    built.manifest.sha256, built.manifest.git_sha)
            # refuses a release id the host already has ...; then the rest in one round trip
            held = releases.prepare_and_check(host, prepare, artifact)
            ex.on_failure(f"remove release {release_id} from {host.name}",   # ... so this removes only ours
                          lambda: releases.remove_unless_current(host, ctx.layout, release_id))
            r.artifact = notes["artifact"] = releases.send(host, [artifact, *rest], held)
            r.uploaded = True
        run.out.info(f"{host.name}: uploaded and verified {release_id} (for its {plan.new.name} slot)")

    raise_failed(fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts)), "upload")


def upload_steps(ctx, host, pair: Pair, release_id: str, tarball, sha256: str, git_sha) -> list:
    """A host's upload (phase 2 applies it, --dry-run prints it): the release, then the new
    slot's process config and env file (its port, the flag's live values)."""
    return [*releases.upload_steps(ctx.env, ctx.app, host, release_id, tarball, sha256, git_sha, ctx.manager,
                                   pair.program, _env(ctx, pair)),
            Exec(slots.install_env(ctx.layout, release_id, pair.new), "env")]


def _env(ctx, pair) -> dict[str, str]:
    """The flag's live values, and the slot's port: the app listens where its slot is."""
    return {**ctx.env_overrides, "PORT": str(pair.new.port)}


# -- rollback.backend ---------------------------------------------------------------------------------------
def rollback(run, ctx, fleet: Fleet, runs: dict, ex, journal) -> None:
    """Back to each host's target (already on the host) the same way: boot it beside, then move."""
    ctx.env_overrides = flag_journal.live_env(ex.db, ctx.env.name)
    plans = observe(run, ctx, fleet, runs, None, read=False)   # the releases and slots read under the lock

    def stage(host: Host) -> None:
        r, plan = runs[host.name], plans[host.name]
        if r.target == r.before.current:
            return
        steps = [Upload(plan.new.env_file, f"env file of {ctx.app} ({plan.new.name})", mode=0o600,
                        text=releases.render_env(ctx.env, ctx.app, host.config, True, _env(ctx, plan)))]
        steps += [Upload(c.path, c.what, mode=c.mode, text=c.text) for c in ctx.manager.config_files(plan.program)]
        releases.send(host, steps)   # one round trip

    raise_failed(fleet.run(stage, size=len(fleet.hosts), max_fail=len(fleet.hosts)), "staging the slots")
    switch(run, ctx, fleet, runs, ex, journal, plans=plans, stop_old=True)


# -- boot, gate, switch -----------------------------------------------------------------------------------
def switch(run, ctx, fleet: Fleet, runs: dict, ex, journal, plans: dict[str, SlotRun],
           stop_old: bool) -> None:
    """Batch by batch: boot + gate every host at once, then move the LB host by host."""
    todo = []
    for host in fleet.hosts:
        r = runs[host.name]
        if r.target == r.before.current:
            r.note = f"already on {r.target}"
        else:
            todo.append(host)
    for batch in batches(todo, ctx.env.batches.size):
        run.out.info(f"batch: {', '.join(h.name for h in batch)} (side by side)")

        def boot(host: Host) -> None:
            r, plan = runs[host.name], plans[host.name]
            ex.on_failure(f"put {host.name} back on {r.before.current or 'nothing'} ({plan.serving.name} slot)",
                          lambda: undo_host(run, ctx, host, r, plan))
            *start, gate = boot_steps(ctx, plan.pair, r.target)   # what --dry-run prints
            with journal.step("boot", host=host.name, release=r.target) as notes:
                notes.update(slot=plan.new.name, port=plan.new.port)
                plan.started = True
                with explained(host, plan.program, notes):   # at the spawn where the manager says so
                    started = spawn.begin(host, ctx.manager, start)
            with journal.step("health", host=host.name, release=r.target) as notes:
                with explained(host, plan.program, notes):   # a start that failed ends the gate
                    r.gate = worker_gate.wait_ready(host, ctx.manager, gate.program, gate.url, gate.release,
                                                    gate.policy, **spawn.pause(started))
                    if r.gate.ok:
                        spawn.confirm(started)   # and supervisord called it RUNNING
                notes.update(r.gate.as_dict())
                if not r.gate.ok:
                    with explained(host, plan.program, notes):
                        raise StepFailed(f"{host.name}: health gate ({plan.new.name} slot): {r.gate.reason}")
            run.out.info(f"{host.name}: {r.target} up beside {r.before.current or 'nothing'} "
                         f"({plan.new.name} slot, port {plan.new.port}; {r.gate.attempts} polls, {r.gate.seconds:.1f}s)")

        # every host of the batch boots and is gated, whatever another does: then all or none move
        raise_failed(fleet.run(boot, hosts=batch, size=len(batch), max_fail=len(batch)), "boot")
        move_batch(run, ctx, batch, runs, plans, journal)
    if stop_old:
        stop_old_slots(run, ctx, fleet, runs, plans, journal)


class Linking:
    """One host's links and slot record switching in the background. Its journal step stays open
    until they are done (or failed) and is ended by the batch's thread, in host order
    (`settle`): the journal reads as the LB moved, whichever links command returns first."""

    def __init__(self, run, host: Host, r, plan: SlotRun, links: Exec, step: ExitStack):
        self.run, self.host, self.r, self.plan, self.links, self.step = run, host, r, plan, links, step
        self.error: BaseException | None = None
        self.ended = False
        self.thread = threading.Thread(target=self._link, name=f"switch-{host.name}", daemon=True)
        self.thread.start()

    def _link(self) -> None:
        try:
            releases.apply(self.host, [self.links], timeout=60)
            self.r.in_service = True
        except BaseException as exc:   # handed to the batch's thread by settle / move_batch
            self.error = exc

    def end(self) -> None:
        """Wait for the links, then end the host's journal step (once)."""
        self.thread.join()
        if self.ended:
            return
        self.ended = True
        if self.error is not None:
            self.step.__exit__(type(self.error), self.error, self.error.__traceback__)   # journaled as failed
            return
        self.step.close()
        self.run.out.info(f"{self.host.name}: serves {self.r.target} ({self.plan.new.name} slot)")


def settle(linking: list[Linking], wait: bool) -> None:
    """End the hosts' switch steps in host order: those whose links are done (all: `wait`)."""
    for started in linking:
        if not wait and started.thread.is_alive():
            return
        started.end()


def move_batch(run, ctx, batch: list[Host], runs: dict, plans: dict[str, SlotRun], journal) -> None:
    """The switch of a batch: host by host at the LB, in order (each move is two runtime commands,
    a moment); each host's links and slot record go over SSH in the background as soon as its LB
    moved, so the next host's move does not wait for that round trip. Every links command started
    is waited for before this returns or raises: a failure or Ctrl-C is undone from known state."""
    linking: list[Linking] = []
    try:
        for host in batch:
            linking.append(move(run, ctx, host, runs[host.name], plans[host.name], journal, linking))
            settle(linking, wait=False)
    finally:
        settle(linking, wait=True)
    failed = [started for started in linking if started.error is not None]
    if failed:
        raise StepFailed("switch failed on " + ", ".join(f.host.name for f in failed) + ": "
                         + "; ".join(str(f.error) or type(f.error).__name__ for f in failed))


def move(run, ctx, host: Host, r, plan: SlotRun, journal, earlier: list[Linking]) -> Linking:
    """The switch of one host: the new slot's server ready, the old one's drain (no new request
    goes to it), then - in the background - the links and the slot record."""
    ready, drain, links = move_steps(ctx, host.name, plan.pair, r.target, r.previous)   # as --dry-run prints
    step = ExitStack()
    notes = step.enter_context(journal.step("switch", host=host.name, release=r.target))
    try:
        notes.update(before=r.before.current, previous=r.previous, slot=plan.new.name, server=ready.server)
        plan.moved = True   # before the command: a half-done move is undone as well
        ctx.lb.set_state(ready.backend, ready.server, ready.state)
        r.switched = True   # the new slot takes traffic: the host's table row says what became of it
        ctx.lb.set_state(drain.backend, drain.server, drain.state)
        plan.linked = True
    except BaseException as exc:
        settle(earlier, wait=True)   # the earlier hosts' steps end (and are journaled) first
        step.__exit__(type(exc), exc, exc.__traceback__)   # journaled as failed
        raise
    return Linking(run, host, r, plan, links, step)


def stop_old_slots(run, ctx, fleet: Fleet, runs: dict, plans: dict[str, SlotRun], journal) -> None:
    """The old slots of the switched hosts: their servers wait for 0 sessions and go to maint,
    then the processes stop (SIGTERM: what is still in flight finishes)."""
    hosts = [h for h in fleet.hosts if runs[h.name].switched]
    if not hosts:
        return

    def work(host: Host) -> None:
        plan = plans[host.name]
        drain, stop = stop_old_steps(ctx, host.name, plan.pair)   # as --dry-run prints
        with journal.step("stop-old", host=host.name, release=runs[host.name].target) as notes:
            notes.update(slot=plan.serving.name, process=plan.old.process)
            drained = ctx.lb.drain(drain.backend, drain.server, drain.deadline, drain.interval)
            notes.update(drain_seconds=round(drained.seconds, 2), sessions_left=drained.sessions_left)
            plan.old_stopped = True
            releases.apply(host, [stop], timeout=120)

    raise_failed(fleet.run(work, hosts=hosts, size=len(hosts), max_fail=len(hosts)), "stopping the old slots")


def smoke_checks(run, ctx, ex, plans: dict[str, SlotRun], release_id: str,
                 token: Secret | None) -> list[gates.SmokeResult]:
    """The runbook's smoke checks against each host's serving slot, after the last batch."""
    return smoke(run, ctx, ex, [plans[h.name].pair.base_url() for h in ctx.hosts], release_id, token)


# -- undo --------------------------------------------------------------------------------------------------------
def undo_host(run, ctx, host: Host, r, plan: SlotRun) -> None:
    """Before the switch: stop the new slot. After it: the old slot serves again, then stop the new.
    A host whose move began is undone only when the LB answers: without it, the host stays as the
    LB may still see it (links, slot record and the new slot agreeing) - switching its links back
    or stopping its new slot would cut the traffic the LB still sends there."""
    if plan.moved:
        try:
            ctx.lb.states(ctx.backend)
        except StepFailed as exc:
            raise StepFailed(f"{host.name}: left as it is (it may serve {r.target} from its {plan.new.name} "
                             f"slot): {exc}") from None
    if plan.linked:
        before = r.before
        links = rc.switch(ctx.layout, before.current, before.previous) if before.current \
            else rc.unlink(ctx.layout, "current")
        host.run(chain([links, slots.record(ctx.layout, plan.serving.name)]), timeout=60)
    if plan.old_stopped and r.before.current:
        started = spawn.begin(host, ctx.manager, releases.restart_steps(ctx.manager, plan.old))
        gate = worker_gate.wait_ready(host, ctx.manager, plan.old, _url(ctx, plan.address, plan.serving),
                                      r.before.current, ctx.spec.health, **spawn.pause(started))
        if gate.ok:
            spawn.confirm(started)
        if not gate.ok:
            raise StepFailed(f"{host.name}: {plan.serving.name} slot restarted on {r.before.current} but {gate.reason}")
    if plan.moved:   # the old slot's server serves again before the new one's drains
        ctx.lb.set_state(ctx.backend, slots.server(host.name, plan.serving), "ready")
        ctx.lb.drain(ctx.backend, slots.server(host.name, plan.new), ctx.spec.drain.deadline,
                     ctx.spec.drain.interval)
        r.in_service = False
    if plan.started:
        host.run(quiet(ctx.manager.stop_command(plan.program)), timeout=120)
    r.note = "switched back" if plan.moved else "new slot stopped"


# -- helpers ---------------------------------------------------------------------------------------------------
def _url(ctx, address: str, where: slots.Slot) -> str:
    return f"http://{address}:{where.port}{ctx.config.health_path}"


def read_slots(fleet: Fleet, ctx, runs: dict) -> None:
    """Each host's serving slot into its HostRun (--dry-run; a host that does not answer: blue)."""
    def look(host: Host) -> None:
        runs[host.name].slot = serving_slot(host, ctx.env, ctx.app)

    fleet.run(look, size=len(fleet.hosts), max_fail=len(fleet.hosts))






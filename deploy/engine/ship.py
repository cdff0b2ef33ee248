"""A release's files on every host of its app: uploaded and verified before any switch, pruned after.

A host that already holds the artifact (same sha256, computed on the host) is not sent it again;
the journal's upload step and --json say per host whether the artifact was uploaded or reused.
Each host's upload is three round trips, whatever it holds (bench/README.md); in phase 2 the
first (the read) runs during the build (ReadAhead)."""

from __future__ import annotations

import threading
from typing import Any, Callable

from deploy.releases import artifact as artifacts
from deploy.releases import disk_room, steps as releases
from deploy.run import Run
from deploy.commands import release as rc
from deploy.commands.release import HostReleases
from deploy.commands.shell import SEMI, chain, cmd
from deploy.engine.context import AppContext, Journal
from deploy.engine.roll import raise_failed
from deploy.engine.runs import HostRun
from deploy.errors import StepFailed
from deploy.executor import Executor
from deploy.hosts.fleet import Fleet, Host


class ReadAhead:
    """Each host's first read (read-only) done by a background thread while the artifact is built,
    the SSH connection opening with it: the deploy then pays no round trip of its own for it. A
    host whose read failed is read again where the value is used, so its error is reported there."""

    def __init__(self, fleet: Fleet, read: Callable[[Host], Any]):
        self.read = read
        self.found: dict[str, Any] = {}

        def work(host: Host) -> None:
            self.found[host.name] = read(host)

        self.thread = threading.Thread(target=fleet.run, args=(work,), name="read-ahead", daemon=True,
                                       kwargs={"size": len(fleet.hosts) or 1, "max_fail": len(fleet.hosts)})
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def take(self, host: Host) -> Any:
        """What the background read found on `host` (once), else the read done now."""
        self.thread.join()
        found = self.found.pop(host.name, None)
        return self.read(host) if found is None else found


def upload(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], built: artifacts.Artifact,
           journal: Journal, ex: Executor, ahead: ReadAhead | None = None) -> None:
    """To every host at once, before any switch: nothing that runs changes here. `ahead`: the
    hosts' reads (`look`) done during the build."""
    release = built.manifest.release
    needed = disk_room.needed_bytes(built.path)

    # Three round trips per host: read (releases, free space; done by `ahead` during the build),
    # prepare (+ is the artifact held?), then every file and command of the upload in one channel
    # (releases.send).
    def work(host: Host) -> None:
        r = runs[host.name]
        with journal.step("upload", host=host.name, release=release) as notes:
            r.before, room = ahead.take(host) if ahead is not None else look(host, ctx)
            notes["before"] = r.before.current
            refusal = disk_room.shortage(host.name, room, needed, release)   # before any byte
            if refusal:
                raise StepFailed(refusal)
            prepare, artifact, *rest = releases.upload_steps(
                ctx.env, ctx.app, host.config, release, built.path, built.manifest.sha256,
                built.manifest.git_sha, ctx.manager, ctx.program, ctx.env_overrides)
            # refuses a release id the host already has; says whether the host holds the artifact
            # (its own sha256sum of it): then it is not sent again
            held = releases.prepare_and_check(host, prepare, artifact)
            ex.on_failure(f"remove release {release} from {host.name}",   # ... so this removes only ours
                          lambda: releases.remove_unless_current(host, ctx.layout, release))
            r.artifact = notes["artifact"] = releases.send(host, [artifact, *rest], held)
            r.uploaded = True
        how = "verified the artifact it holds for" if r.artifact == releases.REUSED else "uploaded and verified"
        run.out.info(f"{host.name}: {how} {release}")

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    raise_failed(result, "upload")


LOOK_MARK = "@@deploy-room"


def look(host: Host, ctx: AppContext) -> tuple[HostReleases, disk_room.Room]:
    """The host's releases and the free space where they go, in one round trip (read-only)."""
    both = chain([rc.inspect(ctx.layout), cmd("echo", LOOK_MARK), disk_room.df_command(ctx.layout.releases_dir)],
                 SEMI)
    listing, _, df = host.run(both, timeout=30).stdout.partition(LOOK_MARK + "\n")
    return rc.parse_inspect(listing), disk_room.parse_room(df)


def prune(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], journal: Journal,
          release: str) -> dict[str, list[str]]:
    """Keep env.keep_releases per host, never current or previous. A failure only warns."""
    def work(host: Host) -> list[str]:
        before = runs[host.name].before
        doomed = rc.prunable([*before.releases, release], ctx.env.keep_releases, release, before.current)
        with journal.step("prune", host=host.name, release=release) as notes:
            notes["removed"] = doomed
            # the artifacts the host verified: as many as releases are kept, the most recently used
            artifacts = rc.prune_artifacts(ctx.layout, ctx.env.keep_releases)
            host.run(chain([rc.prune(ctx.layout, doomed), artifacts]) if doomed else artifacts, timeout=300)
        return doomed

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    for failure in result.failed:
        run.out.warn(f"{failure.host}: old releases not pruned: {failure.error}")
    return {o.host: o.value for o in result.outcomes if o.ok and o.value}

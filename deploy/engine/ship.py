"""A release's files on every host of its app: uploaded and verified before any switch, pruned after.

A host that already holds the artifact (same sha256, computed on the host) is not sent it again;
the journal's upload step and --json say per host whether the artifact was uploaded or reused."""

from __future__ import annotations

from deploy import artifact as artifacts
from deploy import disk_room, releases
from deploy.run import Run
from deploy.commands import release as rc
from deploy.commands.shell import chain
from deploy.engine.context import AppContext, Journal
from deploy.engine.roll import raise_failed
from deploy.engine.runs import HostRun
from deploy.executor import Executor
from deploy.hosts import Fleet, Host


def upload(run: Run, ctx: AppContext, fleet: Fleet, runs: dict[str, HostRun], built: artifacts.Artifact,
           journal: Journal, ex: Executor) -> None:
    """To every host at once, before any switch: nothing that runs changes here."""
    release = built.manifest.release

    def work(host: Host) -> None:
        r = runs[host.name]
        with journal.step("upload", host=host.name, release=release) as notes:
            r.before = releases.inspect(host, ctx.layout)
            notes["before"] = r.before.current
            disk_room.ensure_room(host, ctx.layout.releases_dir, built.path, release)   # before any byte
            prepare, *rest = releases.upload_steps(
                ctx.env, ctx.app, host.config, release, built.path, built.manifest.sha256,
                built.manifest.git_sha, ctx.manager, ctx.program, ctx.env_overrides)
            releases.apply(host, [prepare])   # refuses a release id the host already has ...
            ex.on_failure(f"remove release {release} from {host.name}",   # ... so this removes only ours
                          lambda: releases.remove_unless_current(host, ctx.layout, release))
            # the artifact: sent only when the host does not hold it already (its sha256 computed there)
            r.artifact = notes["artifact"] = releases.apply(host, rest)
            r.uploaded = True
        how = "verified the artifact it holds for" if r.artifact == releases.REUSED else "uploaded and verified"
        run.out.info(f"{host.name}: {how} {release}")

    result = fleet.run(work, size=len(fleet.hosts), max_fail=len(fleet.hosts))
    raise_failed(result, "upload")


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

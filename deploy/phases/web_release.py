"""The web app's release in the runbook's three modes (step 3.1), on the release engine.

    process   SSR under the process manager (runbook option 3, pm2): exactly phase 2's rolling
              upload -> switch -> restart -> health gate, on the hosts with the web role.
    static    files served from `current` by the host's web server (option 1, cp to /var/www):
              the same upload and atomic switch; instead of a restart, `start` runs once in
              current/ (the stand-in writes public/flag.json from the env file); the health gate
              reads health_path through the web server (e.g. /flag.json: version and flag).
    command   a configured command publishes the build (option 2, aws s3 sync): the release is
              unpacked on this machine and `start` runs there with {env_file}; when the
              environment has a public_url, <public_url><health_path> is checked afterwards.
              The journal's publish events say which release is live.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path

from deploy.releases import artifact as artifacts
from deploy.flag import journal as flag_journal
from deploy.gates import health as gates
from deploy.releases import steps as releases
from deploy.engine.context import AppContext, Journal
from deploy.engine.roll import observe, roll, runs_for
from deploy.engine.ship import prune, upload
from deploy.commands.shell import AND, Command, Op, cmd
from deploy.config.environment import Environment, HostConfig
from deploy.errors import ConfigError, StepFailed
from deploy.process.base import ConfigFile, ProcessManager, ProcessState, Program
from deploy.flag.rollout import FlagState
from deploy.secrets import mask

APP = "web"


class StaticPublish(ProcessManager):
    """Static mode behind the process-manager interface: 'restarting' is re-publishing."""

    name = "static"
    binary = "sh"

    def status_command(self, processes: list[str]) -> Command:
        return cmd("true")

    def parse_status(self, stdout: str, exit_code: int) -> dict[str, ProcessState]:
        return {}

    def config_files(self, program: Program) -> list[ConfigFile]:
        return []

    def restart_commands(self, program: Program) -> list[Command]:
        # `start` is the operator's command line from config, run as written inside current/
        return [Command(("cd", program.directory, AND, Op(program.command)))]

    def stop_command(self, program: Program) -> Command:
        return cmd("true")


def mode(env: Environment, app: str = APP) -> str:
    return releases.app_config(env, app).mode


def host_context(env: Environment, app: str = APP) -> AppContext:
    """The engine's context for the web app on its hosts (process or static mode)."""
    ctx = AppContext.load(env, app)
    if ctx.config.mode == "static":
        ctx = dataclasses.replace(ctx, manager=StaticPublish(), lb=None)
    elif app != "api":
        ctx = dataclasses.replace(ctx, lb=None)   # the load balancer fronts the API only
    return ctx


# -- command mode: publish from this machine --------------------------------------------------------
class LocalPublisher:
    """Releases unpacked under <work_dir>/releases/<app>/<id>/, published by running `start`."""

    def __init__(self, env: Environment, app: str = APP):
        self.env, self.app = env, app
        self.config = releases.app_config(env, app)
        self.folder = env.path(env.work_dir) / "releases" / app

    def release_dir(self, release: str) -> Path:
        return self.folder / release

    def unpack(self, built: artifacts.Artifact) -> Path:
        target = self.release_dir(built.manifest.release)
        if target.exists():
            raise StepFailed(f"{target} exists already: release ids are never reused")
        target.mkdir(parents=True)
        with tarfile.open(built.path, "r:gz") as tar:
            tar.extractall(target, filter="data")
        (target / "VERSION").write_text(built.manifest.release + "\n")
        return target

    def command(self, env_file: Path) -> str:
        return self.config.start.replace("{env_file}", shlex.quote(str(env_file)))

    def publish(self, release: str, state: FlagState | None) -> gates.GateResult:
        """Render the env file (0600, flag as given), run the command, check public_url."""
        folder = self.release_dir(release)
        if not folder.is_dir():
            raise ConfigError(f"release {release} of {self.app} is not on this machine ({folder}); "
                              "publish a new build instead")
        env_file = self.folder / f".{release}.env"
        host = HostConfig(name="local", transport="local", roles=(self.config.role,))
        text = releases.render_env(self.env, self.app, host, secrets=True, overrides=state.env() if state else None)
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            proc = subprocess.run(["/bin/sh", "-c", self.command(env_file)], cwd=folder, capture_output=True,
                                  text=True, timeout=1800, stdin=subprocess.DEVNULL)
        finally:
            env_file.unlink(missing_ok=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()
            raise StepFailed(f"publish of {release} exited {proc.returncode}: {mask(tail[-1]) if tail else 'no output'}")
        return self.check(release, state)

    def check(self, release: str, state: FlagState | None) -> gates.GateResult:
        if not self.env.public_url:
            return gates.GateResult(True, "", "published (no public_url to check)", 0, 0.0)
        url = self.env.public_url.rstrip("/") + self.config.health_path
        flag = {"enabled": state.enabled, "percentage": state.percentage} if state else None
        policy = gates.load_spec(Path(self.env.root)).health
        return gates.wait_healthy(url, release, policy, expected_flag=flag)

    def prune(self, keep: int, live: list[str]) -> None:
        if not self.folder.is_dir():
            return
        present = sorted(p.name for p in self.folder.iterdir() if p.is_dir())
        for name in present[:-keep] if keep else present:
            if name not in live:
                shutil.rmtree(self.folder / name, ignore_errors=True)


@dataclasses.dataclass
class LocalUnit:
    """The flag of a command-mode web app: one unit, re-published from this machine."""

    publisher: LocalPublisher
    release: str
    state: FlagState | None
    host: str | None = None

    @property
    def name(self) -> str:
        return f"publish/{self.publisher.app}"

    @property
    def app(self) -> str:
        return self.publisher.app

    def read(self) -> FlagState | None:
        return self.state

    def apply(self, state: FlagState) -> gates.GateResult:
        return self.publisher.publish(self.release, state)


def live_release(db, env: Environment, app: str = APP) -> str | None:
    found = flag_journal.published_releases(db, env.name, app)
    return found[0] if found else None


# -- shipping a web release inside phase 3 -------------------------------------------------------------
def missing(run, site, fleet, web_live: str | None) -> bool:
    """True when the web app has never been released here (some web host runs none)."""
    if site.publisher is not None:
        return web_live is None
    if site.web is None:
        return False
    view = site.view(fleet, site.web)
    runs = runs_for(view)
    down = observe(view, site.web, runs)
    if down:
        raise StepFailed("cannot read the web releases of " + "; ".join(f"{h}: {e}" for h, e in down.items()))
    return any(r.before.current is None for r in runs.values())


def ship(run, site, fleet, ex, given: Path | None, state: FlagState, web_live: str | None) -> tuple[str, str]:
    """Build the web app once and release it (rolling on hosts, or published from here), with the
    flag's current values in its env file. Returns (release, the release now live)."""
    env = site.env
    run.out.info(f"web release ({mode(env)} mode): building ...")
    with ex.step("build", details={"app": APP}) as notes:
        built = artifacts.prepare(env, APP, given)
        notes.update(built.manifest.as_dict())
    release = ex.release = built.manifest.release
    if site.publisher is not None:
        _publish(run, site.publisher, ex, built, state, web_live)
        return release, release
    ctx = site.web
    ctx.env_overrides = state.env()
    view = site.view(fleet, ctx)
    runs = runs_for(view)
    journal = Journal(ex)
    upload(run, ctx, view, runs, built, journal, ex)
    for r in runs.values():
        r.target, r.previous = release, r.before.current
    roll(run, ctx, view, runs, journal, ex, with_env=True)
    prune(run, ctx, view, runs, journal, release)
    run.out.info(f"web release {release} on {', '.join(runs)}")
    return release, release


def _publish(run, publisher: LocalPublisher, ex, built: artifacts.Artifact, state: FlagState,
             previous: str | None) -> None:
    release = built.manifest.release
    publisher.unpack(built)
    if previous:
        def republish() -> None:
            publisher.publish(previous, state)
            ex.event("publish", "ok", release=previous, details={"app": publisher.app, "undo": True})
        ex.on_failure(f"publish {previous} again", republish)
    with ex.step("publish", release=release, details={"app": publisher.app, "flag": state.as_dict()}) as notes:
        gate = publisher.publish(release, state)
        notes["check"] = gate.as_dict()
        if not gate.ok:
            raise StepFailed(f"published {release} but {gate.url}: {gate.reason}")
    publisher.prune(publisher.env.keep_releases, [release] + ([previous] if previous else []))
    run.out.info(f"web release {release} published: {gate.reason}")


"""Releases on hosts: what a host holds, and the steps that upload, switch, restart and revert.

Steps are data (`Exec` a command, `Upload` a file, `Artifact` the release's tarball unless the
host holds it) built by pure functions, so --dry-run prints the very list a run applies. `apply`
runs them on a host one round trip each; `send` runs an upload's steps in one (their files on
the command's stdin), after `prepare_and_check`.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from deploy import process
from deploy.commands import release as rc
from deploy.commands.release import AppLayout, HostReleases
from deploy.commands.shell import AND, OR, Command, chain, cmd
from deploy.config.environment import Environment, HostConfig
from deploy.errors import ConfigError, StepFailed
from deploy.hosts.fleet import Host
from deploy.process.base import ProcessManager, Program
from deploy.process.templates import render
from deploy.secrets import Secret, reveal

ENV_TEMPLATE = "env.j2"


# -- steps ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exec:
    command: Command
    what: str = ""

    def show(self) -> str:
        return f"run     {self.command}"


@dataclass(frozen=True)
class Upload:
    remote: str
    what: str
    mode: int | None = None
    local: Path | None = None                        # a file to send as it is ...
    text: str | None = field(default=None, repr=False)  # ... or rendered text (may hold secrets)
    preview: str | None = field(default=None, repr=False)  # the text with secrets masked

    def show(self) -> str:
        mode = f" (mode {self.mode:04o})" if self.mode is not None else ""
        source = str(self.local) if self.local else self.what
        head = f"upload  {source} -> {self.remote}{mode}"
        if self.preview is None:
            return head
        body = "".join(f"\n          | {line}" for line in self.preview.rstrip("\n").splitlines())
        return head + body


@dataclass(frozen=True)
class Artifact:
    """The release's tarball at `remote` (named by its sha256), verified on the host: reused when
    the host's own sha256sum of the file it holds says so (`held`), else sent to `partial` and
    checked there before it takes the name (`keep`)."""
    remote: str
    partial: str
    local: Path | None
    held: Command
    keep: Command
    what: str = "the artifact"

    def show(self) -> str:
        return (f"upload  {self.local or self.what} -> {self.partial} unless the host holds it: {self.held}\n"
                f"          then  {self.keep}")


Step = Union[Exec, Upload, Artifact]
UPLOADED, REUSED = "uploaded", "reused"


def apply(host: Host, steps: list[Step], timeout: float | None = None) -> str | None:
    """Run steps in order on one host; the first failure raises. Returns how an Artifact step
    got its file there (UPLOADED or REUSED), None when there was none."""
    artifact = None
    for step in steps:
        if isinstance(step, Exec):
            host.run(step.command, timeout=timeout)
        elif isinstance(step, Artifact):
            artifact = _artifact(host, step, timeout)
        else:
            _upload(host, step)
    return artifact


def _artifact(host: Host, step: Artifact, timeout: float | None) -> str:
    # check=False: a non-zero exit is the answer "not held" (no file, or other bytes).
    if host.run(step.held, timeout=timeout or 120, check=False).ok:
        return REUSED
    host.put(step.local, step.partial)
    host.run(step.keep, timeout=timeout or 120)
    return UPLOADED


STEP_MARK = "@@deploy-step"


def send(host: Host, steps: list[Step], held: bool = False, timeout: float | None = None) -> str | None:
    """Apply steps in one round trip: one shell command, the bytes of every file (the artifact
    unless the host holds it - `held`, see `prepare_and_check` -, env and config files) on its
    stdin, each taken with `head -c` and its size checked. Secrets travel on stdin, never on the
    command line. The first failing step ends it; its own command is named, as `apply` would.
    Returns how the Artifact step got its file there (UPLOADED or REUSED), None when there was none."""
    script, sources, shown = batch(steps, held)
    if not shown:
        return None
    res = host.feed(script, sources, timeout=timeout or 300)
    if res.exit_code != 0:
        marks = [line for line in res.stderr.splitlines() if line.startswith(STEP_MARK)]
        what = shown[int(marks[-1].split()[-1])] if marks else str(script)
        said = [line for line in res.stderr.splitlines() if line.strip() and not line.startswith(STEP_MARK)]
        raise StepFailed(f"{host.name}: `{what}` exited {res.exit_code}: {said[-1] if said else 'no output'}")
    artifacts = [s for s in steps if isinstance(s, Artifact)]
    return (REUSED if held else UPLOADED) if artifacts else None


def batch(steps: list[Step], held: bool) -> tuple[Command, list[Path | bytes], list[str]]:
    """The one command of `send`, what goes on its stdin, and each step's command as shown."""
    parts: list[Command] = []
    sources: list[Path | bytes] = []
    shown: list[str] = []
    for step in steps:
        if isinstance(step, Exec):
            body, what = step.command, str(step.command)
        elif isinstance(step, Artifact):
            if held:
                continue
            size = step.local.stat().st_size
            body = chain([rc.write_stdin(step.partial, size), step.keep])
            what = f"upload to {step.partial} && {step.keep}"
            sources.append(step.local)
        else:
            data = step.local.read_bytes() if step.local is not None else (step.text or "").encode("utf-8")
            body, what = rc.write_stdin(step.remote, len(data), step.mode), f"upload to {step.remote}"
            sources.append(data)
        parts.append(cmd("printf", "%s %s\\n", STEP_MARK, len(shown), rc.TO_ERR).then(rc.group(body)))
        shown.append(what)
    return chain(parts), sources, shown


def prepare_and_check(host: Host, prepare: Exec, artifact: Artifact, timeout: float | None = None) -> bool:
    """The release's tree prepared (refusing a release id the host has) and, in the same round
    trip, whether the host holds the artifact (its own sha256sum of the file): True when held."""
    res = host.run(chain([prepare.command, rc.group(Command(artifact.held.parts + (AND, "echo", REUSED, OR,
                                                                              "echo", UPLOADED)))]),
                   timeout=timeout or 120)
    return res.stdout.strip().endswith(REUSED)


def _upload(host: Host, step: Upload) -> None:
    if step.local is not None:
        host.put(step.local, step.remote, mode=step.mode)
        return
    # Rendered text goes through a private temp file (0600), deleted at once.
    fd, name = tempfile.mkstemp(prefix="deploy-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(step.text or "")
        host.put(Path(name), step.remote, mode=step.mode)
    finally:
        os.unlink(name)


# -- what an app looks like on a host -------------------------------------------------------------
def app_config(env: Environment, app: str):
    if app not in env.apps:
        raise ConfigError(f"{env.source_file}: apps.{app} is not configured")
    return env.apps[app]


def layout_for(env: Environment, app: str) -> AppLayout:
    return AppLayout(env.deploy_to.rstrip("/") or "/", app)


def manager_for(env: Environment) -> ProcessManager:
    return process.for_environment(env)


def program_for(env: Environment, app: str) -> Program:
    config = app_config(env, app)
    layout = layout_for(env, app)
    command = config.start.replace("{env_file}", shlex.quote(layout.env_file))
    if not command.strip():
        raise ConfigError(f"{env.source_file}: apps.{app}.start is empty")
    return Program(app=app, process=config.process, command=command, directory=layout.link("current"),
                   env_file=layout.env_file, log_dir=layout.log_dir, shared_dir=layout.shared_dir,
                   root=env.root or None, pm2=config.pm2,
                   out_file=config.pm2.out_file if config.pm2 else None,
                   error_file=config.pm2.error_file if config.pm2 else None)


def host_address(host: HostConfig) -> str:
    return host.address or "127.0.0.1"


def env_values(env: Environment, app: str, host: HostConfig,
               overrides: dict[str, str] | None = None) -> dict[str, object]:
    """The app's env file: shared env, the app's own, then HOST (the host's address) and PORT
    (the app's port) unless configured - so the app listens where the gates and the LB look.
    `overrides` win over config: the feature flag's live values, which phase 3 moves (a new
    release must not switch the feature back to what the YAML file says)."""
    values: dict[str, object] = {**env.app_env(app), **(overrides or {})}
    values.setdefault("HOST", host_address(host))
    values.setdefault("PORT", str(app_config(env, app).port))
    return values


def render_env(env: Environment, app: str, host: HostConfig, secrets: bool,
               overrides: dict[str, str] | None = None) -> str:
    """The env file text; secrets revealed only when `secrets` (the copy written to the host)."""
    values = env_values(env, app, host, overrides)
    shown = {k: (reveal(v) if secrets else str(v)) if isinstance(v, Secret) else str(v)
             for k, v in values.items()}
    return render(ENV_TEMPLATE, env.root or None, app=app, host=host.name, values=shown)


def health_url(env: Environment, app: str, host: HostConfig) -> str:
    config = app_config(env, app)
    return f"http://{host_address(host)}:{config.port}{config.health_path}"


def base_url(env: Environment, app: str, host: HostConfig) -> str:
    return f"http://{host_address(host)}:{app_config(env, app).port}"


# -- step lists -----------------------------------------------------------------------------------
def upload_steps(env: Environment, app: str, host: HostConfig, release: str, tarball: Path | None,
                 sha256: str, git_sha: str | None, manager: ProcessManager,
                 program: Program, overrides: dict[str, str] | None = None) -> list[Step]:
    """Everything a host gets before its switch: the release unpacked and verified, the new env
    file staged (0600), the process manager's config files. Nothing here changes what runs."""
    layout = layout_for(env, app)
    steps: list[Step] = [
        Exec(rc.prepare(layout, release, [layout.artifacts_dir, *manager.directories(program)]), "prepare"),
        Artifact(layout.artifact(sha256), layout.partial(release), tarball,
                 rc.holds_artifact(layout, sha256), rc.keep_artifact(layout, release, sha256)),
        Exec(rc.unpack(layout, release, sha256, git_sha), "unpack"),
        Upload(layout.staged_env(release), f"env file of {app}", mode=0o600,
               text=render_env(env, app, host, secrets=True, overrides=overrides),
               preview=render_env(env, app, host, secrets=False, overrides=overrides)),
    ]
    for conf in manager.config_files(program):
        steps.append(Upload(conf.path, conf.what, mode=conf.mode, text=conf.text, preview=conf.text))
    return steps


# Each Exec is one round trip to the host, so the commands of one step are chained with &&.
def switch_steps(layout: AppLayout, release: str, previous: str | None, with_env: bool) -> list[Step]:
    """Point current at `release` (previous at `previous`); a deploy also installs its env file."""
    links = rc.switch(layout, release, previous)
    return [Exec(chain([rc.install_env(layout, release), links]) if with_env else links, "switch")]


def restart_steps(manager: ProcessManager, program: Program) -> list[Step]:
    return [Exec(chain(manager.restart_commands(program)), "restart")]


def revert_steps(layout: AppLayout, before: HostReleases, with_env: bool, manager: ProcessManager,
                 program: Program) -> list[Step]:
    """Back to what the host ran before: links (and env file) restored, then restarted; a host
    that ran nothing before is stopped and loses its current link."""
    restore = [rc.restore_env(layout)] if with_env else []
    if before.current:
        return [Exec(chain([*restore, rc.switch(layout, before.current, before.previous)]), "switch back"),
                *restart_steps(manager, program)]
    # `stop` fails when the manager never ran the program: nothing to stop is fine here.
    stop = Command(manager.stop_command(program).parts + (rc.QUIET_ERR, OR, "true"))
    return [Exec(chain([*restore, rc.unlink(layout, "current")]), "remove current"), Exec(stop, "stop")]


# -- observe ----------------------------------------------------------------------------------------
def inspect(host: Host, layout: AppLayout) -> HostReleases:
    """The releases on a host, and where current and previous point."""
    return rc.parse_inspect(host.run(rc.inspect(layout), timeout=30).stdout)


def current_release(host: Host, env: Environment, app: str) -> str | None:
    """The release id the host's `current` points at, or None when nothing is deployed."""
    res = host.run(rc.read_link(layout_for(env, app)), check=False, timeout=30)
    return rc.release_of(res.stdout) if res.ok and res.stdout.strip() else None


def remove_unless_current(host: Host, layout: AppLayout, release: str) -> bool:
    """Remove an uploaded release the host does not run; False when it still runs it."""
    if inspect(host, layout).current == release:
        return False
    host.run(rc.remove_release(layout, release), timeout=120)
    return True

"""Pure builders for the release tree on a host, and the parser of what a host holds.

    <deploy_to>/<app>/releases/<id>/        one unpacked artifact per release (VERSION = id)
    <deploy_to>/<app>/current -> releases/<id>     the live release (switched atomically)
    <deploy_to>/<app>/previous -> releases/<id>    what ran before the last switch
    <deploy_to>/<app>/shared/<app>.env      the env file (0600); shared/logs/
    <deploy_to>/<app>/artifacts/<sha256>.tar.gz    artifacts the host verified (sha256sum there)

An artifact is named by its sha256 only after the host computed that sha256 of the bytes it
received (an upload lands as artifacts/.<release>.partial, is checked, then renamed), and it is
checked again whenever a release would reuse it: a re-run, a redeploy of the same build or a
second release of it skips the transfer, a changed or damaged file never passes for it.

A link is switched by making a new link under a temporary name and renaming it over the old
one (`mv -T`): rename(2) is atomic, so a reader sees the old release or the new, never none.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from deploy.commands.shell import AND, OR, SEMI, Command, Op, chain, cmd, sh

RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
QUIET_ERR = Op("2>/dev/null")
TO = Op(">")
PIPE = Op("|")


def valid_release_id(value: str) -> bool:
    """A release id is one path segment: letters, digits, . _ - (no slash, no leading dot)."""
    return bool(RELEASE_ID.match(value)) and value not in (".", "..")


@dataclass(frozen=True)
class AppLayout:
    deploy_to: str
    app: str

    @property
    def app_dir(self) -> str:
        return posixpath.join(self.deploy_to, self.app)

    @property
    def releases_dir(self) -> str:
        return posixpath.join(self.app_dir, "releases")

    @property
    def shared_dir(self) -> str:
        return posixpath.join(self.app_dir, "shared")

    @property
    def log_dir(self) -> str:
        return posixpath.join(self.shared_dir, "logs")

    @property
    def env_file(self) -> str:
        return posixpath.join(self.shared_dir, f"{self.app}.env")

    @property
    def env_backup(self) -> str:
        return self.env_file + ".previous"

    def staged_env(self, release: str) -> str:
        """Where the new env file waits (0600) until the host switches to `release`."""
        return posixpath.join(self.shared_dir, f".{self.app}.env.{release}")

    def link(self, name: str) -> str:
        return posixpath.join(self.app_dir, name)

    def release_dir(self, release: str) -> str:
        return posixpath.join(self.releases_dir, release)

    def tarball(self, release: str) -> str:
        """Where uploads went before the artifact cache (removed with the release's leftovers)."""
        return posixpath.join(self.releases_dir, f"{release}.tar.gz")

    @property
    def artifacts_dir(self) -> str:
        return posixpath.join(self.app_dir, "artifacts")

    def artifact(self, sha256: str) -> str:
        """The verified artifact with this sha256 on the host."""
        return posixpath.join(self.artifacts_dir, f"{sha256}.tar.gz")

    def partial(self, release: str) -> str:
        """Where an upload for `release` lands until the host has checked its sha256."""
        return posixpath.join(self.artifacts_dir, f".{release}.partial")


# -- upload -------------------------------------------------------------------------------------
def prepare(layout: AppLayout, release: str, extra_dirs: list[str] = ()) -> Command:
    """Create the tree; refuse a release id that already exists on the host."""
    dirs = list(dict.fromkeys([layout.releases_dir, layout.log_dir, *extra_dirs]))
    return cmd("mkdir", "-p", *dirs).then(cmd("test", "!", "-e", layout.release_dir(release)))


TO_ERR = Op(">&2")


def group(command: Command) -> Command:
    """`{ command ; }`: one unit in a chain, whatever operators it holds."""
    return Command((Op("{"), *command.parts, Op(";"), Op("}")))


def write_stdin(path: str, size: int, mode: int | None = None) -> Command:
    """The next `size` bytes of stdin into `path` (its folder made), and no fewer: `head -c` reads no
    further, so the next file's bytes follow. With a mode, the file is created with it before
    the first byte (0600: never readable by others, not even for a moment)."""
    write = cmd("head", "-c", size, TO, path)
    if mode is not None:
        write = Command((Op("("), *cmd("umask", "077", AND, "touch", path, AND, "chmod", f"{mode:04o}", path,
                                       AND).parts, *write.parts, Op(")")))
    counted = Op(f'"$(wc -c < {shlex.quote(path)})"')
    return chain([cmd("mkdir", "-p", posixpath.dirname(path) or "."), write, cmd("test", counted, "-eq", size)])


def verify_checksum(path: str, sha256: str) -> Command:
    """sha256sum -c of a file on the host: exits non-zero on any difference (or no file)."""
    return cmd("printf", "%s\\n", f"{sha256}  {path}", PIPE, "sha256sum", "-c", "--quiet", "-")


def holds_artifact(layout: AppLayout, sha256: str) -> Command:
    """Exit 0 only when the host holds the artifact and its sha256, computed there, is `sha256`;
    a reused artifact is touched (the cache keeps the most recently used)."""
    path = layout.artifact(sha256)
    return Command(verify_checksum(path, sha256).parts + (QUIET_ERR, AND, "touch", path))


def keep_artifact(layout: AppLayout, release: str, sha256: str) -> Command:
    """Check the upload's sha256 on the host, then name it by that sha256 (over a damaged one)."""
    return verify_checksum(layout.partial(release), sha256).then(
        cmd("mv", "-f", layout.partial(release), layout.artifact(sha256)))


def unpack(layout: AppLayout, release: str, sha256: str, git_sha: str | None = None) -> Command:
    """Unpack the verified artifact into releases/<id>/, write VERSION (and REVISION)."""
    target = layout.release_dir(release)
    steps = [
        cmd("mkdir", target),
        cmd("tar", "-xzf", layout.artifact(sha256), "-C", target, "--no-same-owner"),
        cmd("printf", "%s\\n", release, TO, posixpath.join(target, "VERSION")),
    ]
    if git_sha:
        steps.append(cmd("printf", "%s\\n", git_sha, TO, posixpath.join(target, "REVISION")))
    return chain(steps)


# -- switch ---------------------------------------------------------------------------------------
def point(layout: AppLayout, name: str, release: str) -> Command:
    """Point link `name` (current, previous) at releases/<release>, atomically."""
    temporary = layout.link(f".{name}.tmp")
    return cmd("ln", "-sfn", layout.release_dir(release), temporary).then(
        cmd("mv", "-T", "-f", temporary, layout.link(name)))


def unlink(layout: AppLayout, name: str) -> Command:
    return cmd("rm", "-f", layout.link(name))


def install_env(layout: AppLayout, release: str) -> Command:
    """Keep the live env file as .previous, then move the staged one (0600) into place."""
    # `a || b && c` groups as `(a || b) && c`: no env file yet, or a copy made - then the move.
    return cmd("test", "!", "-e", layout.env_file, OR, "cp", "-p", layout.env_file, layout.env_backup,
               AND, "mv", "-f", layout.staged_env(release), layout.env_file)


def restore_env(layout: AppLayout) -> Command:
    """Put back the env file the host ran with before (when there was one)."""
    return cmd("test", "!", "-e", layout.env_backup, OR, "mv", "-f", layout.env_backup, layout.env_file)


def switch(layout: AppLayout, release: str, previous: str | None) -> Command:
    """The links after a switch to `release`: previous first, then current (one command)."""
    steps = [point(layout, "previous", previous) if previous else unlink(layout, "previous"),
             point(layout, "current", release)]
    return chain(steps)


# -- observe --------------------------------------------------------------------------------------
MARK_CURRENT = "#current"
MARK_PREVIOUS = "#previous"


def inspect(layout: AppLayout) -> Command:
    """Releases (folders), and where current and previous point; empty when nothing deployed."""
    return sh(chain([
        cmd("cd", layout.app_dir, QUIET_ERR, OR, "exit", "0"),
        cmd("ls", "-1p", "releases", QUIET_ERR),
        cmd("echo", MARK_CURRENT),
        cmd("readlink", "current", QUIET_ERR),
        cmd("echo", MARK_PREVIOUS),
        cmd("readlink", "previous", QUIET_ERR),
        cmd("true"),
    ], SEMI))


def read_link(layout: AppLayout, name: str = "current") -> Command:
    return cmd("readlink", layout.link(name))


@dataclass(frozen=True)
class HostReleases:
    releases: tuple[str, ...] = ()   # oldest first (ids sort by their UTC timestamp)
    current: str | None = None
    previous: str | None = None
    extra: dict = field(default_factory=dict)

    def older_than(self, release: str) -> str | None:
        """The newest release before `release` (where a second rollback goes)."""
        older = [r for r in self.releases if r < release]
        return older[-1] if older else None


def release_of(target: str) -> str | None:
    """The release id a link target names (.../releases/<id>, with or without a trailing /)."""
    name = posixpath.basename(target.strip().rstrip("/"))
    return name or None


def parse_inspect(stdout: str) -> HostReleases:
    releases: list[str] = []
    current = previous = None
    section = "releases"
    for raw in stdout.splitlines():
        line = raw.strip()
        if line in (MARK_CURRENT, MARK_PREVIOUS):
            section = line
            continue
        if not line:
            continue
        if section == "releases":
            if line.endswith("/") and valid_release_id(line[:-1]):
                releases.append(line[:-1])      # folders only: a leftover tarball is no release
        elif section == MARK_CURRENT:
            current = release_of(line)
        else:
            previous = release_of(line)
    return HostReleases(tuple(sorted(releases)), current, previous)


def tail(path: str, lines: int = 5) -> Command:
    """The end of a log file (empty when there is none yet)."""
    return cmd("tail", "-n", str(lines), path, QUIET_ERR)


# -- clean up -------------------------------------------------------------------------------------
def remove_release(layout: AppLayout, release: str) -> Command:
    """Remove what an upload of `release` left (folder, partial upload, staged env file); an
    artifact the host verified stays for the next try."""
    return cmd("rm", "-rf", layout.release_dir(release), layout.tarball(release), layout.partial(release),
               layout.staged_env(release))


def prune(layout: AppLayout, releases: list[str]) -> Command:
    return cmd("rm", "-rf", *(layout.release_dir(r) for r in releases))


def prune_artifacts(layout: AppLayout, keep: int) -> Command:
    """Keep the `keep` most recently used artifacts (a reuse touches its file), remove the rest."""
    return sh(cmd("cd", layout.artifacts_dir, QUIET_ERR, OR, "exit", "0", SEMI,
                  "ls", "-1t", PIPE, "tail", "-n", f"+{max(keep, 1) + 1}", PIPE, "xargs", "-r", "rm", "-f", "--"))


def prunable(releases: list[str], keep: int, current: str | None, previous: str | None) -> list[str]:
    """Releases to delete, oldest first: all but the newest `keep`, never current or previous."""
    ordered = sorted(releases)
    kept = set(ordered[-keep:]) if keep > 0 else set()
    kept.update(r for r in (current, previous) if r)
    return [r for r in ordered if r not in kept]

"""Hosts and the Fleet: the only place (with the executor and db/connect) that runs commands.

A Host runs `Command`s (deploy.commands.shell) and moves files, over SSH (Fabric/paramiko,
host keys verified against a known_hosts file, never auto-added) or locally with the same
interface. One connection per host is opened lazily and reused for the whole task.

A Fleet runs a function over hosts in batches (a count or a percentage), in parallel within a
batch, and stops starting new batches once more than `max_fail` hosts have failed.
"""

from __future__ import annotations

import math
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generic, Iterable, TypeVar

from invoke.exceptions import CommandTimedOut, UnexpectedExit

from deploy.commands.shell import AND, Command, Op, cmd
from deploy.config.environment import Environment, HostConfig
from deploy.errors import ConfigError, HostUnreachable, StepFailed
from deploy.lazy import lazy
from deploy.secrets import mask

if TYPE_CHECKING:
    from fabric import Connection

# paramiko (and Fabric, which SSHHost._connection imports) load when the first SSH connection
# opens: a task on local hosts, a dry run, --help and every test's importer never pay 0.2-0.3 s
paramiko = lazy("paramiko")

T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    command: str      # masked, for display
    stdout: str
    stderr: str
    exit_code: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class CommandFailed(StepFailed):
    def __init__(self, host: str, result: Result):
        detail = (result.stderr or result.stdout).strip().splitlines()
        tail = detail[-1] if detail else "no output"
        super().__init__(f"{host}: `{result.command}` exited {result.exit_code}: {mask(tail)}")
        self.result = result


PUT_CHUNK = 1 << 20      # bytes handed to the channel at once (it sends the server's packet size)


def put_command(remote: str, mode: int | None = None) -> Command:
    """The remote side of SSHHost.put: the file created with its mode before the first byte (a
    secret is never readable by others, not even for a moment), then the bytes from stdin."""
    if mode is None:
        return cmd("cat", Op(">"), remote)
    return cmd("umask", "077", AND, "touch", remote, AND, "chmod", f"{mode:04o}", remote, AND,
               "cat", Op(">"), remote)


AEAD_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def gcm_first_transport(sock, disabled_algorithms=None) -> paramiko.Transport:
    """paramiko's Transport preferring AES-GCM (every cipher it offers stays on offer, after it):
    one pass for cipher and MAC costs less CPU per byte on both ends (bench/bench_transfer.py)."""
    transport = paramiko.Transport(sock, disabled_algorithms=disabled_algorithms)
    options = transport.get_security_options()
    first = [c for c in AEAD_CIPHERS if c in options.ciphers]
    options.ciphers = (*first, *(c for c in options.ciphers if c not in first))
    return transport


STREAM_POLL = 0.2        # how often a stream looks at its stop event
STREAM_KEEPALIVE = 15    # seconds: a quiet stream still notices a dead connection


class _Lines:
    """Bytes in, whole lines out (decoded, without CR from a pty, masked)."""

    def __init__(self, on_line: Callable[[str], None], limit: int = 65536):
        self.on_line, self.limit, self.buffer = on_line, limit, b""

    def feed(self, data: bytes) -> None:
        *complete, self.buffer = (self.buffer + data).split(b"\n")
        for raw in complete:
            self._emit(raw)
        if len(self.buffer) > self.limit:   # a line without end: hand it on in pieces
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self._emit(self.buffer)
            self.buffer = b""

    def _emit(self, raw: bytes) -> None:
        self.on_line(mask(raw.decode("utf-8", errors="replace").rstrip("\r")))


class Session:
    """A helper kept running on a host that answers each line it reads with one line (e.g.
    deploy/process/pm2_workers.js for a health gate): one start instead of one per question."""

    def __init__(self) -> None:
        self._buffer = b""

    def ask(self, question: str | None = "", timeout: float = 30.0) -> str | None:
        """Send one line (None: nothing, read on), return the next whole line of output (masked), or
        None when the helper ended, did not answer within `timeout`, or its transport failed - then
        it is closed."""
        try:
            if question is not None:
                self._send((question + "\n").encode())
            deadline = time.monotonic() + timeout
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                data = self._recv(left) if left > 0 else None
                if not data:
                    self.close()
                    return None
                self._buffer += data
        except (OSError, EOFError, ValueError):    # the helper or its channel is gone
            self.close()
            return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return mask(line.decode("utf-8", errors="replace").rstrip("\r"))

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _recv(self, timeout: float) -> bytes | None:
        """Some output within `timeout`; b"" at its end, None on a timeout."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _LocalSession(Session):
    def __init__(self, command: Command):
        super().__init__()
        self.proc = subprocess.Popen(command.render(), shell=True, executable="/bin/sh", stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)

    def _send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _recv(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return os.read(self.proc.stdout.fileno(), 65536) if ready else None

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()     # the helper's end of input: it exits by itself
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()


class _SSHSession(Session):
    def __init__(self, channel):
        super().__init__()
        self.channel = channel

    def _send(self, data: bytes) -> None:
        try:
            self.channel.sendall(data)
        except paramiko.SSHException as exc:
            raise EOFError(str(exc)) from None

    def _recv(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self.channel], [], [], timeout)
        try:
            return self.channel.recv(65536) if ready else None
        except paramiko.SSHException as exc:
            raise EOFError(str(exc)) from None

    def close(self) -> None:
        try:
            self.channel.shutdown_write()   # the helper's end of input: it exits by itself
            self.channel.close()
        except (OSError, EOFError):
            pass


class Host:
    """What every transport offers: run, put, get, stream, session, close."""

    name: str
    config: HostConfig

    def run(self, command: Command, timeout: float | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> Result:
        raise NotImplementedError

    def put(self, local: Path, remote: str, mode: int | None = None) -> None:
        raise NotImplementedError

    def get(self, remote: str, local: Path) -> None:
        raise NotImplementedError

    def feed(self, command: Command, sources: list[Path | bytes], timeout: float | None = None) -> Result:
        """Run one command with the sources (files, bytes) one after the other on its stdin: many
        files and the commands around them in one round trip. Never raises for the exit code."""
        raise NotImplementedError

    def stream(self, command: Command, on_line: Callable[[str], None],
               stop: threading.Event | None = None, pty: bool = True) -> int | None:
        """Run a long command (e.g. `tail -F`), handing each line of its output (stdout and stderr
        together, masked) to on_line as it comes; returns its exit code when it ends, or None
        once `stop` is set (the command is then ended). pty=False (SSH): no terminal, so a
        channel closed early (the deploy killed) does not hang up the command - it runs to its
        end, as `run` does; `stop` then only stops the reading."""
        raise NotImplementedError

    def session(self, command: Command) -> Session:
        """Start `command` as a Session: it answers each line written to it with one line."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def connect(self) -> None:
        """Open the connection now (SSH: handshake and login), e.g. while the artifact is packed."""

    def _finish(self, command: Command, stdout: str, stderr: str, code: int, check: bool) -> Result:
        result = Result(str(command), mask(stdout), mask(stderr), code)
        if check and code != 0:
            raise CommandFailed(self.name, result)
        return result


class LocalHost(Host):
    """The operator's own machine, through the same interface as an SSH host."""

    def __init__(self, config: HostConfig, command_timeout: float):
        self.name = config.name
        self.config = config
        self.command_timeout = command_timeout
        self.connections_opened = 1

    def run(self, command, timeout=None, check=True, env=None):
        full_env = {**os.environ, **(env or {})}
        try:
            proc = subprocess.run(
                command.render(), shell=True, executable="/bin/sh", capture_output=True,
                text=True, timeout=timeout or self.command_timeout, env=full_env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise StepFailed(f"{self.name}: `{command}` timed out after {timeout or self.command_timeout:g}s") from None
        return self._finish(command, proc.stdout, proc.stderr, proc.returncode, check)

    def put(self, local, remote, mode=None):
        Path(remote).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(remote, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if mode is not None else 0o644)
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out, open(local, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)

    def get(self, remote, local):
        shutil.copyfile(remote, local)

    def feed(self, command, sources, timeout=None):
        data = b"".join(s if isinstance(s, bytes) else Path(s).read_bytes() for s in sources)
        try:
            proc = subprocess.run(command.render(), shell=True, executable="/bin/sh", input=data,
                                  capture_output=True, timeout=timeout or self.command_timeout)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"{self.name}: `{command}` timed out after {timeout or self.command_timeout:g}s") from None
        decode = lambda b: b.decode("utf-8", errors="replace")   # noqa: E731
        return self._finish(command, decode(proc.stdout), decode(proc.stderr), proc.returncode, check=False)

    def stream(self, command, on_line, stop=None, pty=True):
        proc = subprocess.Popen(command.render(), shell=True, executable="/bin/sh", stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        lines = _Lines(on_line)
        try:
            while not (stop is not None and stop.is_set()):
                ready, _, _ = select.select([proc.stdout], [], [], STREAM_POLL)
                if not ready:
                    continue
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    lines.flush()
                    return proc.wait()
                lines.feed(data)
            return None
        finally:
            if proc.poll() is None:   # its own session: end the command and what it started
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            proc.stdout.close()


    def session(self, command):
        return _LocalSession(command)


class SSHHost(Host):
    """A host reached over SSH; the connection is opened on first use and kept."""

    def __init__(self, config: HostConfig, env: Environment):
        self.name = config.name
        self.config = config
        self._ssh = env.ssh
        self._known_hosts = env.path(env.ssh.known_hosts)
        self._key_file = str(env.path(env.ssh.key_file)) if env.ssh.key_file else None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.connections_opened = 0

    # -- connection ----------------------------------------------------------------------------
    def connection(self) -> Connection:
        """The open Fabric connection (opened now if needed), e.g. for port forwarding."""
        return self._connection()

    def _connection(self) -> Connection:
        from fabric import Config as FabricConfig, Connection  # the SSH path only (see paramiko above)

        with self._lock:
            if self._conn is not None and self._conn.is_connected:
                return self._conn
            connect_kwargs = {"look_for_keys": False, "allow_agent": False,
                              "banner_timeout": self._ssh.connect_timeout,
                              "auth_timeout": self._ssh.connect_timeout}
            connect_kwargs["transport_factory"] = gcm_first_transport
            if self._key_file:
                connect_kwargs["key_filename"] = self._key_file
            else:
                connect_kwargs["look_for_keys"] = True
                connect_kwargs["allow_agent"] = True
            conn = Connection(
                # the environment file is the whole truth: no ~/.ssh/config rewriting hosts or keys
                config=FabricConfig(ssh_config=paramiko.SSHConfig()),
                host=self.config.address, port=self.config.port,
                user=self.config.user or self._ssh.user,
                connect_timeout=math.ceil(self._ssh.connect_timeout),
                connect_kwargs=connect_kwargs,
            )
            # Fabric auto-adds unknown keys; production must refuse them instead.
            conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
            conn.client.load_host_keys(str(self._known_hosts))
            try:
                conn.open()
            except paramiko.BadHostKeyException:
                raise HostUnreachable(
                    f"{self.name}: host key of {self._where()} CHANGED - not in line with "
                    f"{self._known_hosts}; refusing to connect (verify the host, then replace its line)"
                ) from None
            except paramiko.SSHException as exc:
                if "not found in known_hosts" in str(exc):
                    raise HostUnreachable(
                        f"{self.name}: host key of {self._where()} is unknown; refusing to connect "
                        f"(verify it, then add it: ssh-keyscan -p {self.config.port} {self.config.address} "
                        f">> {self._known_hosts})"
                    ) from None
                raise HostUnreachable(f"{self.name}: ssh to {self._where()} failed: {mask(str(exc))}") from None
            except (OSError, EOFError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
                raise HostUnreachable(f"{self.name}: cannot reach {self._where()}: {reason}") from None
            self.connections_opened += 1
            self._conn = conn
            return conn

    def _where(self) -> str:
        return f"{self.config.address}:{self.config.port}"

    def connect(self) -> None:
        self._connection()

    # -- operations ----------------------------------------------------------------------------
    def run(self, command, timeout=None, check=True, env=None):
        conn = self._connection()
        line = command.render()
        if env:
            # Names must be plain identifiers; values go through the quoting helper, never raw.
            bad = [k for k in env if not k.isidentifier()]
            if bad:
                raise ConfigError(f"{self.name}: environment variable name(s) not allowed: {', '.join(bad)}")
            exports = " ".join(f"{k}={cmd(v).render()}" for k, v in env.items())
            line = f"export {exports}; {line}"
        try:
            res = conn.run(line, hide=True, warn=True, in_stream=False,
                           timeout=timeout or self._ssh.command_timeout)
        except CommandTimedOut:
            raise StepFailed(f"{self.name}: `{command}` timed out after {timeout or self._ssh.command_timeout:g}s") from None
        except UnexpectedExit as exc:  # not raised with warn=True, kept for safety
            res = exc.result
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._lost(command, exc) from None
        if res.exited is None or res.exited == -1:
            raise self._lost(command)
        return self._finish(command, res.stdout, res.stderr, res.exited, check)

    def put(self, local, remote, mode=None):
        """One channel running `cat > remote`, the file written into it in large chunks: fewer
        round trips and less client CPU than SFTP's acknowledged 32 KiB requests (bench/bench_transfer.py)."""
        transport = self._connection().transport
        channel = None
        try:
            channel = transport.open_session(timeout=self._ssh.connect_timeout)
            channel.settimeout(self._ssh.command_timeout)
            channel.exec_command(put_command(remote, mode).render())
            with open(local, "rb") as src:
                for block in iter(lambda: src.read(PUT_CHUNK), b""):
                    channel.sendall(block)
            channel.shutdown_write()
            error = b"".join(iter(lambda: channel.recv_stderr(65536), b""))
            code = channel.recv_exit_status()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            reason = mask(str(exc)) or type(exc).__name__
            raise StepFailed(f"{self.name}: upload to {remote} failed: {reason}") from None
        finally:
            if channel is not None:
                channel.close()
        if code != 0:
            lines = error.decode("utf-8", errors="replace").strip().splitlines()
            raise StepFailed(f"{self.name}: upload to {remote} failed: exit {code}: "
                             f"{mask(lines[-1]) if lines else 'no output'}")

    def feed(self, command, sources, timeout=None):
        """One channel: the command, then every source written into its stdin in large chunks. A
        command that ends early (a failed step) closes its stdin: the rest is not sent."""
        transport = self._connection().transport
        channel = None
        out, err = bytearray(), bytearray()
        try:
            channel = transport.open_session(timeout=self._ssh.connect_timeout)
            channel.settimeout(timeout or self._ssh.command_timeout)
            channel.exec_command(command.render())
            try:
                for source in sources:
                    if isinstance(source, bytes):
                        channel.sendall(source)
                        continue
                    with open(source, "rb") as src:
                        for block in iter(lambda: src.read(PUT_CHUNK), b""):
                            channel.sendall(block)
                channel.shutdown_write()
            except OSError:
                if channel.exit_status_ready() or channel.closed:
                    pass      # the command ended (a failed step): its exit code says why
                else:
                    raise
            for data in iter(lambda: channel.recv(65536), b""):
                out += data
            for data in iter(lambda: channel.recv_stderr(65536), b""):
                err += data
            code = channel.recv_exit_status()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._lost(command, exc) from None
        finally:
            if channel is not None:
                channel.close()
        if code == -1:
            raise self._lost(command)
        decode = lambda b: bytes(b).decode("utf-8", errors="replace")   # noqa: E731
        return self._finish(command, decode(out), decode(err), code, check=False)

    def get(self, remote, local):
        conn = self._connection()
        try:
            conn.get(remote, str(local))
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise StepFailed(f"{self.name}: download of {remote} failed: {mask(str(exc))}") from None

    def stream(self, command, on_line, stop=None, pty=True):
        transport = self._connection().transport
        channel = None
        lines = _Lines(on_line)
        try:
            transport.set_keepalive(STREAM_KEEPALIVE)
            channel = transport.open_session(timeout=self._ssh.connect_timeout)
            if pty:   # closing the channel hangs up the remote command (`tail -F` never ends by itself)
                channel.get_pty(term="dumb", width=1000)
            else:     # the two streams in one, as a pty would give them
                channel.set_combine_stderr(True)
            channel.exec_command(command.render())
            while not (stop is not None and stop.is_set()):
                ready, _, _ = select.select([channel], [], [], STREAM_POLL)
                if not ready:
                    continue
                data = channel.recv(65536)
                if not data:
                    lines.flush()
                    code = channel.recv_exit_status()
                    if code == -1 or not transport.is_active():
                        raise self._lost(command)
                    return code
                lines.feed(data)
            return None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._lost(command, exc) from None
        finally:
            if channel is not None:
                channel.close()

    def session(self, command):
        try:
            channel = self._connection().transport.open_session(timeout=self._ssh.connect_timeout)
            channel.exec_command(command.render())
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._lost(command, exc) from None
        return _SSHSession(channel)

    def _lost(self, command, exc: BaseException | None = None) -> HostUnreachable:
        """The connection died during `command`: dropped (the next use opens a new one), and said."""
        self._drop()
        why = f": {mask(str(exc)) or type(exc).__name__}" if exc is not None else ""
        return HostUnreachable(f"{self.name}: connection lost during `{command}`{why}")

    def _drop(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:
                    pass
                self._conn = None

    def close(self):
        self._drop()


def open_host(config: HostConfig, env: Environment) -> Host:
    if config.transport == "local":
        return LocalHost(config, env.ssh.command_timeout)
    return SSHHost(config, env)


# -- Fleet --------------------------------------------------------------------------------------
@dataclass
class HostOutcome(Generic[T]):
    host: str
    ok: bool
    value: T | None = None
    error: str | None = None
    skipped: bool = False      # never started: an earlier batch exceeded max_fail
    seconds: float = 0.0


@dataclass
class FleetResult(Generic[T]):
    outcomes: list[HostOutcome[T]] = field(default_factory=list)
    aborted: bool = False      # max_fail exceeded; later batches were not started

    @property
    def ok(self) -> bool:
        return not self.aborted and all(o.ok for o in self.outcomes)

    @property
    def failed(self) -> list[HostOutcome[T]]:
        return [o for o in self.outcomes if not o.ok and not o.skipped]

    def by_host(self) -> dict[str, HostOutcome[T]]:
        return {o.host: o for o in self.outcomes}


def batch_size(size: int | str, total: int) -> int:
    """A batch size from a count or a percentage ('25%'), at least 1."""
    if isinstance(size, str) and size.endswith("%"):
        return max(1, math.floor(total * int(size[:-1]) / 100))
    return max(1, min(int(size), total)) if total else 1


def batches(items: list[T], size: int | str) -> list[list[T]]:
    """Split items into consecutive batches of `size` (count or percentage)."""
    n = batch_size(size, len(items))
    return [items[i:i + n] for i in range(0, len(items), n)]


class Fleet:
    """The hosts of one environment (or a role of it), each opened once for the task."""

    def __init__(self, env: Environment, hosts: Iterable[HostConfig] | None = None):
        self.env = env
        configs = list(hosts if hosts is not None else env.hosts)
        self.hosts: list[Host] = [open_host(h, env) for h in configs]

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for h in self.hosts:
            h.close()

    def connect_in_background(self) -> threading.Thread:
        """Every host's connection opened in parallel by a background thread (join it before use
        matters; a host that cannot be reached is left to the first real command to report)."""
        def connect(host: Host) -> None:
            host.connect()

        thread = threading.Thread(target=self.run, args=(connect,),
                                  kwargs={"size": len(self.hosts) or 1, "max_fail": len(self.hosts)},
                                  name="connect", daemon=True)
        thread.start()
        return thread

    def select(self, role: str | None = None, names: Iterable[str] | None = None) -> list[Host]:
        wanted = set(names) if names else None
        if wanted:
            unknown = wanted - {h.name for h in self.hosts}
            if unknown:
                raise ConfigError(f"unknown host(s): {', '.join(sorted(unknown))} "
                                  f"(known: {', '.join(h.name for h in self.hosts)})")
        return [h for h in self.hosts
                if (role is None or role in h.config.roles) and (wanted is None or h.name in wanted)]

    def run(self, work: Callable[[Host], T], hosts: list[Host] | None = None,
            size: int | str | None = None, max_fail: int | None = None,
            on_batch: Callable[[list[Host]], None] | None = None) -> FleetResult[T]:
        """Run `work(host)` over hosts batch by batch; parallel within a batch."""
        hosts = self.hosts if hosts is None else hosts
        size = self.env.batches.size if size is None else size
        max_fail = self.env.batches.max_fail if max_fail is None else max_fail
        result: FleetResult[T] = FleetResult()
        failures = 0
        groups = batches(hosts, size)
        for index, group in enumerate(groups):
            if on_batch:
                on_batch(group)
            with ThreadPoolExecutor(max_workers=min(len(group), self.env.ssh.parallel)) as pool:
                outcomes = list(pool.map(lambda h: _attempt(work, h), group))
            result.outcomes.extend(outcomes)
            failures += sum(1 for o in outcomes if not o.ok)
            if failures > max_fail:
                result.aborted = index < len(groups) - 1
                for later in groups[index + 1:]:
                    result.outcomes.extend(HostOutcome(h.name, ok=False, skipped=True,
                                                       error="not started: max_fail exceeded")
                                           for h in later)
                break
        return result


def _attempt(work: Callable[[Host], T], host: Host) -> HostOutcome[T]:
    started = time.monotonic()
    try:
        value = work(host)
        return HostOutcome(host.name, ok=True, value=value, seconds=time.monotonic() - started)
    except Exception as exc:  # a per-host failure is a result, not a crash of the fleet
        return HostOutcome(host.name, ok=False, error=mask(str(exc)) or type(exc).__name__,
                           seconds=time.monotonic() - started)


def tcp_reachable(address: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False

"""`python -m invoke ...` for the tests, forked from an interpreter that has already imported the project.

The suite runs ~600 `invoke` tasks; each paid ~0.7 CPU-s to start an interpreter and import invoke,
pydantic, paramiko and deploy/ before its first line of work - over a fifth of the suite's CPU on a
2-core machine. `run()` takes subprocess.run's arguments; for `[sys.executable, "-m", "invoke", ...]`
it asks this pytest process's fork server (one per process, started on first use) for a copy of an
interpreter that has imported all of that once, and runs invoke's own `program.run()` in it as
`python -m invoke` would: the given argv, cwd, environment (os.environ, so programs it starts see
it), stdin and the stdout/stderr pipes, atexit handlers and non-daemon threads at the end, the
exit status as the return code (-N for a signal). Each task still runs in a process of its own, so
exit codes, output, signals, locks and crashes are the task's, as a user meets them.

What it does not cover, and so falls back to subprocess.run for: other programs, Python-level
start-up settings in `env` that differ from this process's (PYTHONPATH, PYTHONHASHSEED, ...), and
arguments beyond cwd, env, input, timeout, check, text, capture_output, stdin, stdout, stderr.
The interpreter start itself is proven by the tests that run invoke or the console script as a
user does (test_cli_contract, test_packaging, test_import_cost, the Popen-based signal tests).

DEPLOY_TEST_FORK=0 turns it off (every call is subprocess.run), to compare.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INVOKE = [sys.executable, "-m", "invoke"]
HANDLED = {"cwd", "env", "input", "timeout", "check", "text", "universal_newlines", "capture_output",
           "stdin", "stdout", "stderr"}
# Read by the interpreter at start-up, before any of our code: a request that sets them differently
# from the server's own environment needs a real interpreter start.
STARTUP_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONHASHSEED", "PYTHONNOUSERSITE",
                "PYTHONSAFEPATH", "PYTHONDEVMODE", "PYTHONWARNINGS", "PYTHONOPTIMIZE", "PYTHONUTF8",
                "PYTHONIOENCODING", "PYTHONUNBUFFERED", "PYTHONINSPECT", "PYTHONFAULTHANDLER",
                "PYTHONMALLOC", "PYTHONPLATLIBDIR", "PYTHONINTMAXSTRDIGITS", "PYTHONTRACEMALLOC")

_server: "ForkServer | None" = None
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("DEPLOY_TEST_FORK", "1") != "0"


def run(argv, **kw) -> subprocess.CompletedProcess:
    """subprocess.run(argv, **kw); `python -m invoke` tasks come from the fork server."""
    if not _servable(argv, kw):
        return subprocess.run(argv, **kw)
    return server().run(list(argv[3:]), **kw)


def _servable(argv, kw) -> bool:
    if not enabled() or not isinstance(argv, (list, tuple)) or list(argv[:3]) != INVOKE:
        return False
    if set(kw) - HANDLED or kw.get("stdin") not in (None, subprocess.DEVNULL):
        return False
    if kw.get("input") is not None and kw.get("stdin") is not None:
        return False
    for name in ("stdout", "stderr"):
        if kw.get(name) not in (None, subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT):
            return False
    env = kw.get("env")
    return env is None or all(env.get(k) == os.environ.get(k) for k in STARTUP_VARS)


def server() -> "ForkServer":
    global _server
    with _lock:
        if _server is None or not _server.alive():
            _server = ForkServer()
            atexit.register(_server.close)
        return _server


class ForkServer:
    """The client side: starts tests/support/invoke_forkd.py and sends it one request per task."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="invoke-fork-")
        self.path = os.path.join(self.dir, "sock")
        # Start-up as `python -m invoke` from the repo would have it (sys.path[0] = the cwd); its
        # stderr goes to ours so a broken preload shows in the test's output.
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("invoke_forkd.py")),
                                      self.path, str(os.getpid())],
                                     cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not os.path.exists(self.path):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the invoke fork server exited with {self.proc.returncode} at start")
            if time.monotonic() > deadline:
                raise RuntimeError("the invoke fork server did not start within 120 s")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, args: list[str], *, cwd=None, env=None, input=None, timeout=None, check=False,
            text=None, universal_newlines=None, capture_output=False, stdin=None, stdout=None,
            stderr=None) -> subprocess.CompletedProcess:
        text = bool(text or universal_newlines)
        if capture_output:
            stdout = stderr = subprocess.PIPE
        argv = [*INVOKE, *args]
        passed: list[int] = []            # the task's 0, 1, 2 (closed here once sent)
        readers: dict[str, _Reader] = {}
        writer = None
        try:
            # stdin: the input on a pipe, /dev/null, or ours (subprocess.run's default)
            if input is not None:
                r, feed = os.pipe()
                passed.append(r)
                data = input.encode() if isinstance(input, str) else input
                writer = threading.Thread(target=_write_all, args=(feed, data), daemon=True)
            elif stdin == subprocess.DEVNULL:
                passed.append(os.open(os.devnull, os.O_RDONLY))
            else:
                passed.append(os.dup(0))
            for name, how in (("stdout", stdout), ("stderr", stderr)):
                if how == subprocess.PIPE:
                    r, w = os.pipe()
                    readers[name] = _Reader(r)
                    passed.append(w)
                elif how == subprocess.DEVNULL:
                    passed.append(os.open(os.devnull, os.O_WRONLY))
                elif how == subprocess.STDOUT:
                    passed.append(os.dup(passed[1]))
                else:
                    passed.append(os.dup(1 if name == "stdout" else 2))
            request = {"argv": [str(a) for a in args], "cwd": str(cwd or os.getcwd()),
                       "env": dict(os.environ if env is None else env)}
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(self.path)
                body = json.dumps(request).encode()
                socket.send_fds(conn, [struct.pack("!I", len(body)) + body], passed)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            for fd in passed + [reader.fd for reader in readers.values()] + ([feed] if writer else []):
                os.close(fd)
            raise
        for fd in passed:
            os.close(fd)
        if writer is not None:
            writer.start()
        for reader in readers.values():
            reader.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        with conn:
            reply = _Replies(conn)
            pid = reply.next(deadline)
            status = None
            if pid is not None:
                status = reply.next(deadline)
            if status is None:                              # out of time (or the server died)
                timed_out = reply.timed_out
                if pid is not None:
                    _kill(pid)
                    reply.next(time.monotonic() + 10)
                out, err = (_finish(readers.get(n), 5, text) for n in ("stdout", "stderr"))
                if not timed_out:
                    raise RuntimeError("the invoke fork server closed the connection without the task's exit status")
                raise subprocess.TimeoutExpired(argv, timeout, output=out, stderr=err)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        out, err = (_finish(readers.get(n), remaining, text) for n in ("stdout", "stderr"))
        proc = subprocess.CompletedProcess(argv, status, out, err)
        if check:
            proc.check_returncode()
        return proc


class _Replies:
    """Integers the server sends on the connection, one per line: the task's pid, then its status."""

    def __init__(self, conn: socket.socket):
        self.conn, self.buffer, self.timed_out = conn, b"", False

    def next(self, deadline: float | None) -> int | None:
        while b"\n" not in self.buffer:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                self.timed_out = True
                return None
            self.conn.settimeout(wait)
            try:
                chunk = self.conn.recv(64)
            except socket.timeout:
                self.timed_out = True
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return int(line)


class _Reader(threading.Thread):
    def __init__(self, fd: int):
        super().__init__(daemon=True)
        self.fd, self.chunks = fd, []

    def run(self):
        with open(self.fd, "rb", closefd=True) as pipe:
            while chunk := pipe.read1(65536):
                self.chunks.append(chunk)


def _finish(reader: _Reader | None, timeout: float | None, text: bool):
    if reader is None:
        return None
    reader.join(timeout)   # like subprocess.run: the output is complete once every holder closed the pipe
    data = b"".join(reader.chunks)
    return data.decode() if text else data


def _write_all(fd: int, data: bytes) -> None:
    try:
        with open(fd, "wb", closefd=True) as pipe:
            pipe.write(data)
    except BrokenPipeError:
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

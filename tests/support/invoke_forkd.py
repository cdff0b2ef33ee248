"""The fork server behind tests/support/invoke_fork.py (run as a script: invoke_forkd.py SOCKET PARENT_PID).

Imports invoke and all of deploy/ (and the libraries its tasks load on demand) once, then for each
request on its unix socket - argv, cwd, environment as JSON, stdin/stdout/stderr as passed file
descriptors - forks a waiter, which forks the task: the task process takes those descriptors as
0, 1 and 2, the cwd, the environment and `sys.argv` of `python -m invoke ARGS`, runs invoke's
program and ends as the interpreter would (non-daemon threads joined, atexit handlers, streams
flushed). The waiter sends the task's pid, waits for it and sends its exit status (-N: killed by
signal N). The server exits when the pytest process that started it is gone.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import pkgutil
import signal
import socket
import struct
import sys
import threading
import traceback

LOADED_ON_DEMAND = ("requests", "paramiko", "fabric", "jinja2", "jwt", "invoke.main")


def preload(repo: str) -> None:
    import deploy

    for name in LOADED_ON_DEMAND:
        importlib.import_module(name)
    for info in pkgutil.walk_packages(deploy.__path__, "deploy."):
        importlib.import_module(info.name)


def serve(path: str, parent: int) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    listener.listen(64)
    os.rename(path + ".new", path)          # the client waits for the name: it appears ready
    listener.settimeout(1.0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # waiters are reaped by the kernel
    while True:
        if os.getppid() != parent:
            return
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        try:
            request, fds = receive(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        if os.fork() == 0:
            listener.close()
            waiter(conn, request, fds)       # never returns
        for fd in fds:
            os.close(fd)
        conn.close()


def receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    if len(data) < 4 or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("bad request")
    size = struct.unpack("!I", data[:4])[0]
    body = data[4:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("short request")
        body += chunk
    return json.loads(body), fds


def waiter(conn: socket.socket, request: dict, fds: list[int]) -> None:
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        pid = os.fork()
        if pid == 0:
            conn.close()
            task(request, fds)               # never returns
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(0)


def task(request: dict, fds: list[int]) -> None:
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds):
            if fd > 2:
                os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import invoke.main

        sys.argv = [os.path.join(os.path.dirname(invoke.main.__file__), "__main__.py"), *request["argv"]]
        sys.path[0] = os.getcwd()            # as `python -m` has it
        code = run_program(invoke.main.program)
        threading._shutdown()                # what the interpreter does at exit, in its order
        atexit._run_exitfuncs()
    except KeyboardInterrupt:
        flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
        code = 1
    flush()
    os._exit(code)


def run_program(program) -> int:
    try:
        program.run()
    except SystemExit as stop:
        return exit_code(stop.code)
    except KeyboardInterrupt:
        raise
    except BaseException:
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def exit_code(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def main() -> None:
    path, parent = sys.argv[1], int(sys.argv[2])
    repo = os.getcwd()
    sys.path[0] = repo                       # `python -m invoke` from the repo: its cwd first
    preload(repo)
    flush()
    gc.collect()
    gc.freeze()                              # imported objects stay shared with every fork
    serve(path, parent)


if __name__ == "__main__":
    main()

"""Host.stream on the operator's own machine (LocalHost): lines as they come, masked, the exit
code at the end; a stop ends the command and everything it started."""

from __future__ import annotations

import threading
import time

from deploy.commands.shell import cmd
from deploy.config.environment import HostConfig
from deploy.hosts.fleet import LocalHost
from deploy.secrets import Secret


def local() -> LocalHost:
    return LocalHost(HostConfig(name="here", transport="local"), command_timeout=30)


def test_stream_hands_on_whole_lines_and_the_exit_code():
    secret = Secret("stream-secret-value", name="X")
    lines: list[str] = []
    script = f"printf 'one\\r\\ntw'; sleep 0.3; printf 'o\\n'; echo 'key={secret.reveal()}' >&2; printf 'last'; exit 3"
    code = local().stream(cmd("sh", "-c", script), lines.append)
    assert code == 3
    assert lines == ["one", "two", "key=***", "last"]


def test_stop_ends_the_command_and_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    lines: list[str] = []
    stop = threading.Event()
    script = f"sleep 300 & echo $! > {pidfile}; echo started; wait"
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(code=local().stream(cmd("sh", "-c", script),
                                                                              lines.append, stop)))
    worker.start()
    deadline = time.monotonic() + 10
    while "started" not in lines and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lines == ["started"]
    child = int(pidfile.read_text())
    stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive() and result == {"code": None}
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(child), "the command's child outlived the stop"


def alive(pid: int) -> bool:
    """Running (an exited child waiting to be reaped by init counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

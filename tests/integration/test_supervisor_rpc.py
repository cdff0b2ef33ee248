"""deploy/process/supervisor_rpc.py against a real supervisord on this machine (the venv's).

The commands are the ones Supervisor builds (restart_commands, stop_command), run through sh as a
host runs them; supervisord's own view (supervisorctl status, its log) is the judge.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.commands.shell import chain
from deploy.process import Supervisor
from deploy.process.base import Program
from deploy.process.supervisor import _STATES

BIN = str(Path(sys.prefix) / "bin")


def program(tmp: Path, name: str, command: str) -> Program:
    return Program(app=name, process=name, command=command, directory=str(tmp), env_file=str(tmp / "env"),
                   log_dir=str(tmp / "logs"), shared_dir=str(tmp))


@pytest.fixture
def daemon(tmp_path):
    sv = Supervisor(str(tmp_path / "supervisor" / "supervisord.conf"), bin_dir=BIN)
    yield sv
    if sh(sv.ctl("shutdown")).returncode != 0:       # not running (or not answering): by its pid
        pidfile = Path(sv.conf).parent / "supervisord.pid"
        if pidfile.exists():
            subprocess.run(["kill", pidfile.read_text().strip()], check=False)


def install(sv: Supervisor, prog: Program) -> None:
    for folder in sv.directories(prog):
        Path(folder).mkdir(parents=True, exist_ok=True)
    for conf in sv.config_files(prog):
        Path(conf.path).write_text(conf.text)


def sh(command) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", "-c", command.render()], capture_output=True, text=True, timeout=120)


def ctl_status(sv: Supervisor, name: str) -> tuple[str, int | None]:
    """supervisorctl's own view (the judge, apart from the product's status path): its
    `NAME  STATE  pid N, uptime ...` line, as (state in the product's words, pid)."""
    for line in sh(sv.ctl("status", name)).stdout.splitlines():
        words = line.split()
        if words and words[0] == name:
            found = re.search(r"pid (\d+),", line)
            return _STATES[words[1]], int(found.group(1)) if found else None
    return "absent", None


def status(sv: Supervisor, name: str) -> str:
    return ctl_status(sv, name)[0]


def pid(sv: Supervisor, name: str) -> int | None:
    return ctl_status(sv, name)[1]


def test_restart_starts_supervisord_then_restarts_the_program(tmp_path, daemon):
    app = program(tmp_path, "app", "sleep 600")
    install(daemon, app)

    first = sh(chain(daemon.restart_commands(app)))        # no supervisord yet: it is started
    assert first.returncode == 0, first.stderr
    assert "app: started" in first.stdout
    assert status(daemon, "app") == "running"        # returned once supervisord said RUNNING, not STARTING
    before = pid(daemon, "app")

    again = sh(chain(daemon.restart_commands(app)))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["app: stopped", "app: started"]
    assert status(daemon, "app") == "running" and pid(daemon, "app") != before


def test_a_start_that_fails_at_once_is_a_spawn_error(tmp_path, daemon):
    good, bad = program(tmp_path, "good", "sleep 600"), program(tmp_path, "bad", "sh -c 'echo boom >&2; exit 3'")
    install(daemon, good)
    assert sh(chain(daemon.restart_commands(good))).returncode == 0
    install(daemon, bad)

    proc = sh(chain(daemon.restart_commands(bad)))

    assert proc.returncode == 1
    assert "bad: ERROR (spawn error: Exited too quickly" in proc.stderr
    assert status(daemon, "good") == "running"                # the other program is left alone


def test_restart_loads_a_changed_program_config(tmp_path, daemon):
    app = program(tmp_path, "app", "sleep 600")
    install(daemon, app)
    assert sh(chain(daemon.restart_commands(app))).returncode == 0
    changed = program(tmp_path, "app", "sleep 601")
    install(daemon, changed)

    proc = sh(chain(daemon.restart_commands(changed)))

    assert proc.returncode == 0, proc.stderr
    assert status(daemon, "app") == "running"
    cmdline = Path(f"/proc/{pid(daemon, 'app')}/cmdline").read_bytes().split(b"\0")
    assert cmdline[:2] == [b"sleep", b"601"]


def test_a_restart_whose_caller_is_gone_still_starts_the_program(tmp_path, daemon):
    """A deploy killed mid-restart closes the SSH channel the helper writes to: its 'stopped' line
    then meets a closed pipe. The restart must still start the program, not leave it stopped."""
    app = program(tmp_path, "app", "sleep 600")
    install(daemon, app)
    assert sh(chain(daemon.restart_commands(app))).returncode == 0
    before = pid(daemon, "app")
    read, write = os.pipe()
    os.close(read)                              # the caller's end: gone
    try:
        subprocess.run(["/bin/sh", "-c", chain(daemon.restart_commands(app)).render()],
                       stdout=write, stderr=write, timeout=120)
    finally:
        os.close(write)
    assert status(daemon, "app") == "running" and pid(daemon, "app") not in (None, before)


def test_stop_stops_and_says_when_nothing_runs(tmp_path, daemon):
    app = program(tmp_path, "app", "sleep 600")
    install(daemon, app)
    down = sh(daemon.stop_command(app))                      # no supervisord at all
    assert down.returncode == 2 and "supervisord is not running" in down.stderr
    assert sh(chain(daemon.restart_commands(app))).returncode == 0

    stopped = sh(daemon.stop_command(app))
    assert stopped.returncode == 0 and stopped.stdout.strip() == "app: stopped"
    assert status(daemon, "app") == "stopped"
    again = sh(daemon.stop_command(app))
    assert again.returncode == 1 and "app: ERROR (not running)" in again.stderr


def test_status_agrees_with_supervisorctl_and_says_when_nothing_runs(tmp_path, daemon):
    app, bad = program(tmp_path, "app", "sleep 600"), program(tmp_path, "bad", "sh -c 'exit 3'")
    down = sh(daemon.status_command([]))                     # no supervisord at all
    assert down.returncode == 2 and "supervisord is not running" in down.stderr
    assert daemon.parse_status(down.stdout + down.stderr, down.returncode) == {}
    install(daemon, app)
    assert sh(chain(daemon.restart_commands(app))).returncode == 0
    install(daemon, bad)
    assert sh(chain(daemon.restart_commands(bad))).returncode == 1
    # supervisord retries the failed start (BACKOFF, startretries) before it gives up: compare the
    # two readers once it has settled on FATAL, not while it retries
    deadline = time.monotonic() + 30
    while status(daemon, "bad") != "fatal" and time.monotonic() < deadline:
        time.sleep(0.1)

    proc = sh(daemon.status_command([]))

    assert proc.returncode == 0, proc.stderr
    states = daemon.parse_status(proc.stdout, proc.returncode)
    assert set(states) == {"app", "bad"}
    assert states["app"].state == "running" and states["app"].pid == pid(daemon, "app")   # supervisorctl's pid
    assert states["app"].uptime is not None
    assert states["bad"].state == status(daemon, "bad") and states["bad"].pid is None
    assert "Exited too quickly" in states["bad"].detail


def test_logs_are_supervisorctl_tails_of_both_streams(tmp_path, daemon):
    app = program(tmp_path, "app", "sh -c 'echo out-1; echo err-1 >&2; echo out-2; exec sleep 600'")
    install(daemon, app)
    down = sh(daemon.log_command(app, 5))                    # no supervisord at all
    assert daemon.log_error(app, down.stdout + down.stderr, down.returncode) == \
        f"supervisord is not running ({daemon.conf})"
    assert sh(chain(daemon.restart_commands(app))).returncode == 0

    proc = sh(daemon.log_command(app, 5))

    assert proc.returncode == 0, proc.stderr
    assert daemon.log_error(app, proc.stdout, proc.returncode) is None
    assert daemon.log_lines(proc.stdout, 5) == ["out-1", "out-2", "err-1"]
    assert sh(daemon.ctl("tail", "app", "stdout")).stdout.split() == ["out-1", "out-2"]   # the judge agrees
    other = program(tmp_path, "nothere", "sleep 1")
    gone = sh(daemon.log_command(other, 5))
    assert daemon.log_error(other, gone.stdout + gone.stderr, gone.returncode) == \
        "supervisord: nothere: ERROR (no such process name)"

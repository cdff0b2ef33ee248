"""deploy.engine.starting: a restart that returns at the spawn, runs on beside the gate, and whose
verdict still decides (a scripted host stands in for the channel)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from deploy.commands.shell import cmd
from deploy.engine import starting
from deploy.errors import StepFailed
from deploy.releases.steps import Exec

RESTART = Exec(cmd("python3", "supervisor_rpc.py", "restart", "api"), "restart")


class StreamingHost:
    """stream() says `lines_before`, then waits for `release`, then says `lines_after`, ends `code`."""

    name = "api-1"

    def __init__(self, before, after, code):
        self.before, self.after, self.code = before, after, code
        self.release = threading.Event()
        self.runs = []

    def run(self, command, timeout=None, check=True):
        self.runs.append(str(command))
        return SimpleNamespace(stdout="", stderr="", exit_code=0, ok=True)

    def stream(self, command, on_line, stop=None, pty=True):
        assert pty is False          # a killed deploy must not hang up the restart
        for line in self.before:
            on_line(line)
        self.release.wait(10)
        for line in self.after:
            on_line(line)
        return self.code


SUPERVISOR = SimpleNamespace(announces_spawn=True)


def test_begin_returns_at_the_spawn_and_confirm_waits_for_the_verdict():
    host = StreamingHost(["api: stopped", "api: spawned"], ["api: started"], 0)
    started = starting.begin(host, SUPERVISOR, [RESTART])
    assert started is not None and not started.done.is_set()      # the restart still runs
    host.release.set()
    starting.confirm(started)
    assert started.lines == ["api: stopped", "api: spawned", "api: started"]


def test_a_gate_that_passed_does_not_pass_a_host_whose_start_failed():
    host = StreamingHost(["api: spawned"], ["api: ERROR (spawn error: Exited too quickly)"], 1)
    started = starting.begin(host, SUPERVISOR, [RESTART])
    host.release.set()
    with pytest.raises(StepFailed, match=r"exited 1: api: ERROR \(spawn error: Exited too quickly\)"):
        starting.confirm(started)


def test_a_start_that_fails_ends_the_gates_pause_at_once():
    host = StreamingHost(["api: spawned"], ["api: ERROR (abnormal termination: exit status 1)"], 1)
    started = starting.begin(host, SUPERVISOR, [RESTART])
    pause = starting.pause(started)["sleep"]
    host.release.set()
    with pytest.raises(StepFailed, match="abnormal termination"):
        pause(30)                                                  # raises long before 30 s


def test_a_failure_before_the_spawn_raises_from_begin():
    host = StreamingHost(["api: ERROR (no such file)"], [], 1)
    host.release.set()
    with pytest.raises(StepFailed, match="no such file"):
        starting.begin(host, SUPERVISOR, [RESTART])


def test_a_manager_that_does_not_announce_the_spawn_runs_the_restart_to_its_end():
    host = StreamingHost([], [], 0)
    assert starting.begin(host, SimpleNamespace(), [RESTART]) is None
    assert host.runs == [str(RESTART.command)] and starting.pause(None) == {}

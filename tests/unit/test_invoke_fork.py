"""tests/support/invoke_fork: a forked `python -m invoke` run is the same run as a real one.

Each case runs the same command both ways - through the fork server and as a real interpreter
start (subprocess.run) - on a throwaway tasks.py, and compares what a test would look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.support import invoke_fork

TASKS = textwrap.dedent("""
    import atexit, os, sys, threading, time
    from invoke import task

    @task
    def show(c):
        print("cwd", os.getcwd())
        print("probe", os.environ.get("FORK_PROBE"))
        print("argv", sys.argv[1:])
        print("stdin", sys.stdin.read())
        sys.stderr.write("to stderr\\n")

    @task
    def fail(c, code=3):
        sys.exit(int(code))

    @task
    def hang(c):
        print(os.getpid(), flush=True)
        time.sleep(60)

    @task
    def late(c):
        atexit.register(lambda: print("atexit ran"))
        threading.Thread(target=lambda: (time.sleep(0.3), print("thread ran", flush=True))).start()

    @task
    def boom(c):
        raise RuntimeError("boom")

    @task
    def child(c):
        c.run("echo child says $FORK_PROBE")
""")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "tasks.py").write_text(TASKS)
    return tmp_path


def both(project, *args, **kw):
    kw = {"cwd": project, "capture_output": True, "text": True, "timeout": 60, **kw}
    argv = [sys.executable, "-m", "invoke", *args]
    assert invoke_fork._servable(argv, kw)
    forked = invoke_fork.server().run(list(args), **kw)
    real = subprocess.run(argv, **kw)
    return forked, real


def test_output_exit_code_cwd_environment_and_stdin_match_a_real_run(project):
    env = {**os.environ, "FORK_PROBE": "from-the-test"}
    forked, real = both(project, "show", env=env, input="hello")
    assert forked.returncode == real.returncode == 0
    assert forked.stdout == real.stdout
    assert f"cwd {project}\nprobe from-the-test\nargv ['show']\nstdin hello\n" == forked.stdout
    assert forked.stderr == real.stderr == "to stderr\n"


def test_exit_codes_and_errors_match(project):
    forked, real = both(project, "fail", "--code", "5")
    assert forked.returncode == real.returncode == 5
    forked, real = both(project, "nosuch")
    assert forked.returncode == real.returncode == 1
    assert forked.stderr == real.stderr and "nosuch" in forked.stderr
    forked, real = both(project, "boom")
    assert forked.returncode == real.returncode == 1
    assert forked.stderr.splitlines()[-1] == real.stderr.splitlines()[-1] == "RuntimeError: boom"


def test_threads_and_atexit_run_before_the_exit(project):
    forked, real = both(project, "late")
    assert forked.stdout == real.stdout == "thread ran\natexit ran\n"


def test_programs_it_starts_see_its_environment(project):
    env = {**os.environ, "FORK_PROBE": "inherited"}
    forked, real = both(project, "child", env=env)
    assert forked.stdout == real.stdout == "child says inherited\n"


def test_a_timeout_kills_the_task_and_raises_like_subprocess_run(project):
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as caught:
        invoke_fork.server().run(["hang"], cwd=project, capture_output=True, text=True, timeout=2)
    assert time.monotonic() - started < 30
    pid = int(caught.value.output.split()[0])
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"task {pid} still alive after the timeout")


def test_other_programs_and_start_up_settings_fall_back_to_a_real_start():
    invoke = [sys.executable, "-m", "invoke", "--list"]
    assert not invoke_fork._servable(["ls"], {})
    assert not invoke_fork._servable(invoke, {"env": {**os.environ, "PYTHONPATH": "/elsewhere"}})
    assert not invoke_fork._servable(invoke, {"preexec_fn": print})
    assert invoke_fork._servable(invoke, {"env": dict(os.environ), "stdin": subprocess.DEVNULL})

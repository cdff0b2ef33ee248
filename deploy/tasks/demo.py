"""The demo: the main job, end to end, on the embedded local environment."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time

from invoke import task
from invoke.exceptions import Exit

# Every phase implemented so far, in the order the runbook runs them. Each step is the very
# command a person or a CI job would type, so the demo also proves the exit codes.
STEPS: list[tuple[str, list[str]]] = [
    ("Phase 0: pre-deployment checklist", ["checks.preflight"]),
    ("Where things stand", ["status"]),
]


@task(help={"env": "environment to run on (default: local; the demo is meant for local)"})
def demo(c, env="local"):
    """Run every phase implemented so far, end to end, on the local environment."""
    invoke = [sys.executable, "-m", "invoke"]
    started = time.monotonic()
    for title, args in STEPS:
        line = ["invoke", *args, "--env", env]
        print(f"\n=== {title}\n$ {shlex.join(line)}", flush=True)
        code = subprocess.call([*invoke, *args, "--env", env], env={**os.environ, "DEPLOY_ENV": env})
        if code != 0:
            print(f"\ndemo stopped: `{shlex.join(line)}` exited {code}", file=sys.stderr)
            raise Exit(code=code)
    print(f"\ndemo complete in {time.monotonic() - started:.1f}s", flush=True)

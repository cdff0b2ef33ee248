"""Benchmark: what it costs to start a command of this project (interpreter, imports, config).

    .venv/bin/python bench/bench_startup.py [--runs 7] [--only LABEL ...] [--baseline DIR]

Every `invoke TASK` the pipeline, CI and the test suite start pays this before the task does its
work (a deploy pays it before it takes the lock). Each command runs --runs times as a child
process, the commands interleaved round by round (a shared machine's load then falls on all of
them alike); the table shows the median CPU seconds (user + system of the child, from wait4) and
the median wall seconds, and the number of modules the command holds as it exits
(`len(sys.modules)`, from one more run of it).

The commands run on a fresh checkout with no hosts and no servers: the embedded `local`
environment, a throwaway JWT_SECRET when neither the environment nor .env has one. `status` reads
the local journal (.work/local) when there is one; with none it says so and goes on.

--baseline DIR also starts every command in DIR, another checkout of the project (e.g.
`git archive <commit> | tar -x -C DIR`, then `python -m compileall -q DIR/deploy DIR/tasks.py`
when PYTHONDONTWRITEBYTECODE is set), with the same interpreter and venv, interleaved with this
checkout's runs: the before and after of one run, under the same load. The interpreter imports
`deploy` from the folder it starts in (the current folder comes before the venv's editable
install on sys.path), so each checkout runs its own code.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

COMMANDS: list[tuple[str, list[str]]] = [
    ("python (bare interpreter)", [sys.executable, "-c", "pass"]),
    ("python -c 'import invoke'", [sys.executable, "-c", "import invoke"]),
    ("python -c 'import tasks'", [sys.executable, "-c", "import tasks"]),
    ("invoke --list", [str(BIN / "invoke"), "--list"]),
    ("invoke deploy.phase2 --help", [str(BIN / "invoke"), "deploy.phase2", "--help"]),
    ("invoke config", [str(BIN / "invoke"), "config"]),
    ("invoke deploy.phase2 --dry-run", [str(BIN / "invoke"), "deploy.phase2", "--dry-run"]),
    ("invoke deploy.phase2 --dry-run --json", [str(BIN / "invoke"), "deploy.phase2", "--dry-run", "--json"]),
    ("invoke status --json", [str(BIN / "invoke"), "status", "--json"]),
]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DEPLOY_ENV", None)
    env.pop("DEPLOY_ROOT", None)
    has_dotenv_secret = (ROOT / ".env").is_file() and "JWT_SECRET=" in (ROOT / ".env").read_text()
    if not env.get("JWT_SECRET") and not has_dotenv_secret:
        env["JWT_SECRET"] = "bench-startup-throwaway-secret-0123456789abcdef"
    env["COLUMNS"] = "100"
    return env


def timed(argv: list[str], env: dict[str, str], root: Path) -> tuple[float, float, int]:
    """(CPU seconds of the child, wall seconds, exit code) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, wall, proc.returncode


def module_count(argv: list[str], env: dict[str, str], root: Path) -> int:
    """How many modules the command holds as it exits (len(sys.modules), at exit)."""
    code = "import atexit, sys; atexit.register(lambda: sys.stderr.write(f'\\nMODULES {len(sys.modules)}\\n'))\n"
    if Path(argv[0]).name == "invoke":
        code += f"import runpy; sys.argv = {argv!r}; runpy.run_module('invoke', run_name='__main__')\n"
    else:
        code += f"sys.argv = ['-c']; exec({argv[-1]!r})\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    counts = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    return int(counts[-1]) if counts else -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (median shown)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only the commands whose label contains this (repeatable)")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout of the project: its figures beside these, same run")
    args = parser.parse_args()
    env = environment()
    chosen = [(label, argv) for label, argv in COMMANDS
              if not args.only or any(word in label for word in args.only)]
    roots = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    samples: dict[tuple[str, Path], list[tuple[float, float, int]]] = {
        (label, root): [] for label, _ in chosen for root in roots}
    for _ in range(args.runs):
        for label, argv in chosen:
            for root in roots:
                samples[label, root].append(timed(argv, env, root))
    load = os.getloadavg()[0]
    print(f"median of {args.runs} runs; load average {load:.1f} at the end; {os.cpu_count()} CPUs")
    if args.baseline:
        print(f"baseline: {roots[1]}")
    print()

    def figures(label: str, argv: list[str], root: Path) -> list[str]:
        runs = samples[label, root]
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        codes = ",".join(map(str, sorted({r[2] for r in runs})))
        return [f"{cpu:.2f}", f"{wall:.2f}", str(module_count(argv, env, root)), codes]

    if args.baseline:
        print("| command | CPU s before | CPU s | wall s before | wall s | modules before | modules | exit |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, argv in chosen:
            now, before = figures(label, argv, ROOT), figures(label, argv, roots[1])
            print(f"| {label} | {before[0]} | {now[0]} | {before[1]} | {now[1]} | {before[2]} | {now[2]} | "
                  f"{before[3]} / {now[3]} |")
    else:
        print("| command | CPU s | wall s | modules | exit |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for label, argv in chosen:
            print("| " + " | ".join([label, *figures(label, argv, ROOT)]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

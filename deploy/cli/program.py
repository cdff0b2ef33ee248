"""The `marketplace-deploy` console script: an Invoke Program over the project's collection.

It keeps the task contract for what Invoke parses before any task runs: a typo'd flag, an unknown
task, a flag missing its value exit 2 (bad input), with one line on stderr and, when --json is on
the command line, the same JSON envelope every task prints (task, environment, ok, exit_code,
error). Invoke's own Program exits 1 for these, the code that means "failed and undone".

Plain `invoke` in a checkout loads tasks.py, which calls `adopt_running_invoke()`: the running
invoke program gets the same mapping for everything parsed after tasks.py is loaded (task names,
task flags, `--help TASK`). Invoke's core flags are parsed before tasks.py is loaded, so only the
console script maps those (e.g. `invoke -c` with no value still exits 1).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Iterable

from pathlib import Path

from invoke import Argument, Program
from invoke.exceptions import Exit, ParseError

from deploy import __version__
from deploy.errors import EXIT_BAD_INPUT

NAME = "marketplace-deploy"
_UNKNOWN = re.compile(r"^No idea what '(.*)' is!$")
_NEEDS_VALUE = re.compile(r"^Flag <Argument: (\w+).*> needed value and was not given one!$")
_NO_VALUE = re.compile(r"^Flag <Argument: (\w+).*> doesn't take any value!$")
_NO_NAMESPACE = re.compile(r"^Sub-collection '(.*)' not found!$")


def flag_name(attr: str) -> str:
    return "--" + attr.replace("_", "-")


def describe_parse_error(message: str, task: str | None, binary: str = NAME) -> tuple[str, str | None]:
    """Invoke's parse error -> (one line naming what is wrong, the task it concerns or None)."""
    if match := _UNKNOWN.match(message):
        word = match[1]
        if task and word.startswith("-"):
            return f"{task}: unknown flag {word!r} (`{binary} --help {task}` lists its flags)", task
        if word.startswith("-"):
            return f"unknown option {word!r} (`{binary} --help` lists the options)", None
        if task:
            return (f"{task}: unexpected argument {word!r}, and no task has that name "
                    f"(`{binary} --list` shows the tasks)", task)
        return f"unknown task {word!r} (`{binary} --list` shows the tasks)", word
    if match := _NEEDS_VALUE.match(message):
        where = f"{task}: " if task else ""
        return f"{where}{flag_name(match[1])} needs a value", task
    if match := _NO_VALUE.match(message):
        where = f"{task}: " if task else ""
        return f"{where}{flag_name(match[1])} takes no value", task
    if match := _NO_NAMESPACE.match(message):
        return f"unknown namespace {match[1]!r} (`{binary} --list` shows them)", None
    return message, task


def json_requested(argv: Iterable[str]) -> bool:
    return any(arg in ("--json", "-j") or arg.startswith("--json=") for arg in argv)


def environment_given(argv: list[str]) -> str | None:
    """The --env/-e value on the command line, else $DEPLOY_ENV (what the task would have used)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--env="):
            return arg.split("=", 1)[1]
        if arg in ("--env", "-e") and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            return argv[i + 1]
    return os.environ.get("DEPLOY_ENV") or None


def envelope(task: str | None, environment: str | None, error: str) -> dict[str, Any]:
    return {"task": task, "environment": environment, "ok": False, "exit_code": EXIT_BAD_INPUT,
            "error": error}


class BadInputExit2:
    """Mixin for an invoke Program: parse errors exit 2 with one line (and the --json envelope)."""

    hint_binary = "invoke"      # the command the hints in messages name

    def _bad_input(self, message: str, task: str | None) -> Exit:
        from deploy.output.console import Output

        argv = list(getattr(self, "argv", None) or sys.argv)[1:]
        json_mode = json_requested(argv)
        out = Output(json_mode=json_mode)
        out.error(message)
        if json_mode:
            out.emit_json(envelope(task, environment_given(argv), message))
        return Exit(code=EXIT_BAD_INPUT)

    def _mapped(self, step, *args):
        try:
            return step(*args)
        except ParseError as exc:
            context = getattr(exc, "context", None)
            task = getattr(context, "name", None) or None
            message, task = describe_parse_error(str(exc), task, self.hint_binary)
            raise self._bad_input(message, task) from None
        except Exit as exc:
            # `--list NAME` of a namespace that does not exist: invoke exits 1 with a message
            if exc.code == 1 and exc.message:
                message, _ = describe_parse_error(str(exc.message), None, self.hint_binary)
                raise self._bad_input(message, None) from None
            raise

    def parse_core(self, argv):
        return self._mapped(super().parse_core, argv)

    def parse_tasks(self):
        self._mapped(super().parse_tasks)
        self._trailing_list_flag()

    def _trailing_list_flag(self) -> None:
        """Invoke accepts a repeatable flag (--host) as the last word with no value; it is not."""
        argv = list(getattr(self, "argv", None) or [])
        if not argv or not self.tasks or not argv[-1].startswith("-") or "=" in argv[-1]:
            return
        context = self.tasks[-1]
        arg = context.flags.get(argv[-1])
        if arg is not None and arg.takes_value and arg.kind is list:
            message, task = describe_parse_error(
                f"Flag <Argument: {arg.name}> needed value and was not given one!", context.name, self.hint_binary)
            raise self._bad_input(message, task)

    def parse_cleanup(self):
        return self._mapped(super().parse_cleanup)


ROOT_HELP = ("the deploy project: the folder holding environments/ (default $DEPLOY_ROOT, else the "
             "nearest folder up from here holding environments/, else the current folder)")


def choose_root(given: str | None, cwd: Path, environ: dict) -> str | None:
    """The DEPLOY_ROOT to set: --root, else (no $DEPLOY_ROOT, no environments/ up from cwd) cwd.

    None keeps what deploy.config.environment finds. Outside a checkout its last resort would be the folder
    the package is installed in; the current folder is what a user of the command means."""
    if given:
        return str(Path(given).expanduser().resolve())
    if environ.get("DEPLOY_ROOT"):
        return None
    if any((folder / "environments").is_dir() for folder in (cwd, *cwd.parents)):
        return None
    return str(cwd)


class DeployProgram(BadInputExit2, Program):
    """The console script's program: the project's collection, the package's version, --root."""

    hint_binary = NAME

    def core_args(self):
        # -e is --env in every task; invoke's core -e (--echo) stays as --echo only
        core = [arg if "e" not in arg.names else
                Argument(names=tuple(n for n in arg.names if n != "e"), kind=arg.kind, default=arg.default,
                         help=arg.help)
                for arg in super().core_args()]
        return [*core, Argument(names=("root",), help=ROOT_HELP)]

    def parse_core(self, argv):
        super().parse_core(argv)
        given = self.args.root.value
        if given and not Path(given).expanduser().is_dir():
            raise self._bad_input(f"--root: {given} is not a folder", None)
        root = choose_root(given, Path.cwd().resolve(), os.environ)
        if root:
            os.environ["DEPLOY_ROOT"] = root


def adopt_running_invoke() -> None:
    """Give invoke's own running program (the `invoke` command loading tasks.py) our parse errors."""
    import invoke.main

    program = invoke.main.program
    if not isinstance(program, BadInputExit2):
        program.__class__ = type("InvokeWithDeployContract", (BadInputExit2, type(program)), {})


def program() -> DeployProgram:
    from deploy.cli.collection import namespace

    return DeployProgram(name=NAME, binary=NAME, version=__version__, namespace=namespace)


def main() -> None:
    program().run()

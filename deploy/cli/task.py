"""The one wrapper every task goes through: config, output, error -> exit code, --json.

A task body receives a `Run` (deploy.run: environment, output, actor) and returns a dict for the
--json summary (or None). A DeployError becomes one line on stderr and its exit code; in --json mode
the summary is still printed, with ok=false and the error.
"""

from __future__ import annotations

import functools
import getpass
import inspect
import logging
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from invoke import Task, task
from invoke.exceptions import Exit, ParseError

from deploy.output import progress
from deploy.errors import EXIT_FAILED, EXIT_OK, DeployError
from deploy.run import Run
from deploy.secrets import mask

if TYPE_CHECKING:   # config (pydantic) and output (rich) load when a task runs, not for --list/--help
    from deploy.config.environment import DatabaseConfig, Environment
    from deploy.output.console import Output

ENV_HELP = "environment to use (environments/<name>.yaml); default $DEPLOY_ENV or 'local'"
JSON_HELP = "print one JSON summary on stdout (for CI) instead of human output"

# The only short flags, the same letter for the same flag in every task. Invoke would otherwise
# hand out the first free letter of each flag per task (-a was --reason in one task and
# --artifact in another), so a short flag in a script could mean something else after a rename.
SHORT_FLAGS = {"env": "e", "json": "j", "message": "m"}


class ContractTask(Task):
    """An invoke Task whose only short flags are SHORT_FLAGS (no automatic ones)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        if short and short not in taken_names:
            opts["names"].append(short)
        return opts


def actor() -> str:
    """Who is acting: $DEPLOY_ACTOR, CI's user, else user@host."""
    for var in ("DEPLOY_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if os.environ.get(var):
            who = os.environ[var]
            return f"{who}@ci" if var != "DEPLOY_ACTOR" else who
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def non_interactive() -> bool:
    """No prompts in CI or without a terminal: a confirmation flag is needed instead."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or not sys.stdin.isatty()


DEBUG_HINT = "DEPLOY_DEBUG=1 or invoke --debug shows the traceback"


def debugging() -> bool:
    """$DEPLOY_DEBUG, or invoke's --debug / $INVOKE_DEBUG (which turn on debug logging)."""
    if os.environ.get("DEPLOY_DEBUG", "").lower() not in ("", "0", "no", "false"):
        return True
    return logging.getLogger("invoke").isEnabledFor(logging.DEBUG)


def unexpected(task_name: str, exc: BaseException) -> str:
    """An exception no task foresaw, as one masked line: what it is and what it says."""
    words = " ".join(str(exc).split())
    return mask(f"{task_name} failed unexpectedly: {type(exc).__name__}" + (f": {words}" if words else ""))


def deploy_task(help: dict[str, str] | None = None, namespace: str | None = None,
                **task_kwargs: Any) -> Callable:
    """@task with our contract: `env` and `json` flags, error mapping, JSON summary.

    `namespace` names the task in messages and --json when its module is not the namespace.
    """
    helps = {"env": ENV_HELP, "json": JSON_HELP, **(help or {})}

    def decorate(body: Callable) -> Any:
        name = body.__name__.rstrip("_").replace("_", "-")

        @functools.wraps(body)
        def wrapper(c, *args, **kwargs):
            from deploy.config import environment as config_mod
            from deploy.output.console import Output
            from deploy.preflight.spec import enforce_env_rules, load_spec

            env_name = kwargs.get("env")
            json_mode = bool(kwargs.get("json"))
            out = Output(json_mode=json_mode)
            module = namespace or body.__module__.rsplit(".", 1)[-1]
            task_name = name if module in ("tasks", name) else f"{module}.{name}"
            summary: dict[str, Any] = {"task": task_name, "environment": env_name}
            code = EXIT_OK
            try:
                env = config_mod.load(env_name)
                enforce_env_rules(env, load_spec(Path(env.root)))
                summary["environment"] = env.name
                run = Run(task=task_name, env=env, out=out, actor=actor())
                kwargs.pop("env", None)
                kwargs.pop("json", None)
                try:
                    with progress.showing(out.console, json_mode):
                        data = body(run, *args, **kwargs)
                finally:
                    run.close()
                if isinstance(data, dict):
                    code = data.pop("_exit_code", EXIT_OK)
                    summary.update(data)
            except DeployError as exc:
                code = exc.exit_code
                summary["error"] = mask(str(exc))
                out.error(str(exc))
            except KeyboardInterrupt:
                code = EXIT_FAILED
                summary["error"] = "interrupted"
                out.error("interrupted")
            except (Exit, ParseError):
                raise
            except Exception as exc:   # not foreseen by the task: one line, exit 1, the same envelope
                code = EXIT_FAILED
                summary["error"] = unexpected(task_name, exc)
                out.error(summary["error"] + ("" if debugging() else f" ({DEBUG_HINT})"))
                if debugging():
                    out.traceback(exc)
            summary["ok"] = code == EXIT_OK
            summary["exit_code"] = code
            if json_mode:
                out.emit_json(summary)
            if code != EXIT_OK:
                raise Exit(code=code)

        # invoke reads flags from the signature: the body's own, plus --env and --json
        sig = inspect.signature(body)
        extra = [inspect.Parameter("env", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
                 inspect.Parameter("json", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)]
        # --env and --json first: the flags every task shares lead its --help
        run_param, *own = sig.parameters.values()
        wrapper.__signature__ = sig.replace(parameters=[run_param, *extra, *own])
        return task(help=helps, klass=ContractTask, **task_kwargs)(wrapper)

    return decorate

"""Checks before a deploy: the runbook's pre-deployment checklist (phase 0)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.cli.task import Run, deploy_task
from deploy.errors import EXIT_FAILED, ConfigError, StepFailed
from deploy.lazy import lazy
from deploy.preflight.sections import SECTIONS

if TYPE_CHECKING:
    from deploy.preflight.checklist import Item

# the JUnit writer (xml.etree, tempfile) loads when --junit is given (deploy/lazy.py)
junit_xml = lazy("deploy.output.junit")


def _sections(value: str | None, flag: str) -> set[str]:
    names = {s.strip() for s in (value or "").split(",") if s.strip()}
    unknown = names - set(SECTIONS)
    if unknown:
        raise ConfigError(f"--{flag}: unknown section(s) {', '.join(sorted(unknown))} "
                          f"(sections: {', '.join(SECTIONS)})")
    return names


@deploy_task(help={
    "only": f"comma-separated sections to run ({', '.join(SECTIONS)})",
    "skip": "comma-separated sections to leave out",
    "junit": "also write a JUnit XML report to PATH for CI (one test case per checklist item)",
})
def preflight(run: Run, only: str = None, skip: str = None, junit: str = None):
    """Run the pre-deployment checklist: env vars, app commands, database, migrations, hosts, TLS, LB."""
    from deploy.preflight.checklist import run_preflight, summary   # the checks' libraries load when they run
    from deploy.preflight.spec import load_spec

    only_set, skip_set = _sections(only, "only"), _sections(skip, "skip")
    report = _junit_path(junit)
    spec = load_spec(Path(run.env.root))
    items = run_preflight(run.env, spec, only_set, skip_set, progress=run.out.info,
                          database=lambda: run.database)
    counts = summary(items)
    section = None
    for item in items:
        if item.section != section:
            section = item.section
            run.out.section(section)
        run.out.item(item.status, item.name, item.detail)
    run.out.line(f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    result = {"items": [i.as_dict() for i in items], "counts": counts,
              "_exit_code": EXIT_FAILED if counts["fail"] else 0}
    if report:
        try:
            junit_xml.write(report, run.task, [_case(i) for i in items], time_s=run.elapsed)
        except OSError as exc:
            raise StepFailed(f"--junit: cannot write {report}: {exc.strerror or exc}") from None
        result["junit"] = str(report)
    return result


def _flags_last(task, *names: str) -> None:
    """Invoke hands out short flags in signature order, where the body's flags come before --env
    and --json: moved last, --junit takes -u and leaves -j to --json, as on every other task."""
    sig = inspect.signature(task.body)
    params = list(sig.parameters.values())
    task.body.__signature__ = sig.replace(parameters=[p for p in params if p.name not in names]
                                          + [p for p in params if p.name in names])


_flags_last(preflight, "junit")


def _junit_path(value: str | None) -> Path | None:
    """Checked before the checklist runs: a bad path is exit 2 with nothing run."""
    if value is None:
        return None
    if not str(value).strip():
        raise ConfigError("--junit needs a file path")
    try:
        return junit_xml.writable(value)
    except OSError as exc:
        raise ConfigError(f"--junit: cannot write {value}: {exc.strerror or exc}") from None


def _case(item: Item) -> junit_xml.Case:
    """pass -> passed (its detail as output), warn -> passed with a warning, fail, skip."""
    status = {"fail": junit_xml.FAILED, "skip": junit_xml.SKIPPED}.get(item.status, junit_xml.PASSED)
    message = item.detail if status != junit_xml.PASSED else ""
    output = f"warning: {item.detail}" if item.status == "warn" else item.detail if status == junit_xml.PASSED else ""
    return junit_xml.Case(item.section, item.name, status, message, output=output)


"""Checks before a deploy: the runbook's pre-deployment checklist (phase 0)."""

from __future__ import annotations

from pathlib import Path

from deploy.cli import Run, deploy_task
from deploy.errors import EXIT_FAILED, ConfigError
from deploy.preflight import run_preflight, summary
from deploy.preflight_spec import SECTIONS, load_spec


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
})
def preflight(run: Run, only: str = None, skip: str = None):
    """Run the pre-deployment checklist: env vars, app commands, database, migrations, hosts, TLS, LB."""
    only_set, skip_set = _sections(only, "only"), _sections(skip, "skip")
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
    return {"items": [i.as_dict() for i in items], "counts": counts,
            "_exit_code": EXIT_FAILED if counts["fail"] else 0}


"""The API release (phase 2) and the releases on each host; part of the deploy namespace."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task
from deploy.errors import ConfigError
from deploy.engine.targets import HOST_HELP, ROLE_HELP
from deploy.lazy import lazy
from deploy.cli.tasks.common import DRY_RUN, LOCK_WAIT, lock_wait_seconds

p2 = lazy("deploy.phases.phase2")   # loads when a task runs: --list and --help stay light (deploy/lazy.py)
junit_xml = lazy("deploy.output.junit")   # the JUnit writer (xml.etree, tempfile): with --junit only

JUNIT = "also write the health gates and smoke checks as a JUnit XML report to PATH (for CI)"
ARTIFACT = ("a CI build to release instead of building here: a release folder or a .tar.gz "
            "(default: run the app's build command)")


@deploy_task(namespace="deploy", help={"artifact": ARTIFACT, "dry_run": DRY_RUN, "lock_wait": LOCK_WAIT,
                                        "junit": JUNIT})
def phase2(run: Run, artifact: str = None, dry_run: bool = False, lock_wait: str = None, junit: str = None):
    """Phase 2: release the API - upload, switch, restart, health gate per batch, smoke checks."""
    report = junit_path(junit)
    outcome = p2.phase2(run, artifact=artifact, dry_run=dry_run, lock_wait=lock_wait_seconds(lock_wait))
    if outcome.dry_run:
        return outcome.as_dict()
    if report:
        junit_xml.write(report, "deploy.phase2", gate_cases(outcome.hosts, outcome.smoke))
    if outcome.ok:
        run.out.line(f"phase 2 complete: {outcome.release} on {len(outcome.hosts)} host(s); "
                     "the soak starts now")
    else:
        run.out.error(f"phase 2 failed and was undone: {outcome.error}")
    return outcome.as_dict()


@deploy_task(namespace="deploy", iterable=["host", "role"], help={"host": HOST_HELP, "role": ROLE_HELP})
def releases(run: Run, host: list = None, role: list = None):
    """List the API releases on each host, marking current and previous."""
    hosts = p2.list_releases(run, only=(host or [], role or []))
    rows = []
    for h in hosts:
        if not h["reachable"]:
            rows.append((h["host"], "-", f"unreachable: {h['error']}"))
            continue
        if not h["releases"]:
            rows.append((h["host"], "-", "nothing deployed"))
        for rel in reversed(h["releases"]):
            mark = "current" if rel["current"] else "previous" if rel["previous"] else ""
            rows.append((h["host"], rel["id"], mark))
    run.out.table(None, ["host", "release", ""], rows)
    down = [h["host"] for h in hosts if not h["reachable"]]
    data = {"hosts": hosts}
    if down:
        run.out.error(f"unreachable: {', '.join(down)}")
        data.update(_exit_code=1, error=f"unreachable: {', '.join(down)}")
    return data


def junit_path(value: str | None):
    """Checked before anything runs: a report that cannot be written is bad input (exit 2)."""
    if not value:
        return None
    try:
        return junit_xml.writable(value)
    except OSError as exc:
        raise ConfigError(f"--junit: cannot write {value}: {exc}") from None


def gate_cases(hosts: list[dict], smoke: list[dict]) -> list[junit_xml.Case]:
    """One test case per host's health gate and per smoke check (a gate never reached: skipped)."""
    cases = []
    for h in hosts:
        gate = h.get("health")
        if gate is None:
            cases.append(junit_xml.Case("health gate", h["host"], "skipped", h.get("note") or "not reached"))
        else:
            cases.append(junit_xml.Case("health gate", h["host"], "passed" if gate["ok"] else "failed",
                                        "" if gate["ok"] else gate.get("reason") or "unhealthy",
                                        time=float(gate.get("seconds") or 0), output=gate.get("url") or ""))
    for check in smoke:
        cases.append(junit_xml.Case("smoke", check["name"], "passed" if check["ok"] else "failed",
                                    "" if check["ok"] else check.get("detail") or "failed",
                                    output=check.get("url") or ""))
    return cases

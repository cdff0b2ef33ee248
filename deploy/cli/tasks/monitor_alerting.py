"""Monitoring on Prometheus and Alertmanager: the rules and the routing, rendered from the project."""

from __future__ import annotations

from pathlib import Path

from deploy.cli.task import Run, deploy_task
from deploy.lazy import lazy

# the implementation loads when a task runs: --list and --help stay light (deploy/lazy.py)
alerts_spec = lazy("deploy.monitoring.alerts_spec")
am_config = lazy("deploy.monitoring.am_config")
prom_rules = lazy("deploy.monitoring.prom_rules")
rendered = lazy("deploy.monitoring.rendered")   # tempfile, shutil

OUT = "write the file to PATH (replaced only when it passed --check); default: print it"


@deploy_task(namespace="monitor", help={
    "out": OUT,
    "check": "validate it with `promtool check rules` first (exit 1 if refused, nothing written)",
})
def rules(run: Run, out=None, check=False):
    """Render checks/alerts.yaml's HTTP alerts as a Prometheus rules file (PromQL, for:, severity)."""
    path = rendered.out_path(out)
    spec = alerts_spec.load(Path(run.env.root))
    text = prom_rules.render(spec, run.env.name)
    tool = [rendered.checker("promtool", "prometheus"), "check", "rules"] if check else None
    written = rendered.write_checked(text, path, tool)
    names = [r["alert"] for r in prom_rules.rules(spec, run.env.name)["groups"][0]["rules"]]
    if path is None and not check:
        run.out.line(text.rstrip("\n"))
    if written.check:
        run.out.info(f"promtool check rules: {_verdict(written.check)}")
    if written.path:
        run.out.line(f"wrote {written.path}: {len(names)} rule(s): {', '.join(names)}")
    return {"path": written.path, "rules": names, "checked": bool(check),
            **({"text": text} if path is None else {})}


@deploy_task(namespace="monitor", help={
    "out": OUT + " (mode 0600: it holds the Slack webhook and the PagerDuty routing key)",
    "check": "validate it with `amtool check-config` first (exit 1 if refused, nothing written)",
})
def alertmanager_config(run: Run, out=None, check=False):
    """Render an Alertmanager config from notify.alertmanager: Slack and PagerDuty, routed by severity."""
    path = rendered.out_path(out)
    doc = am_config.build(run.env.notify.alertmanager, run.env.name, run.env.source_file)
    tool = [rendered.checker("amtool", "prometheus-alertmanager"), "check-config"] if check else None
    written = rendered.write_checked(am_config.render(doc, reveal_secrets=True), path, tool, secret=True)
    routes = am_config.routing(doc)
    if path is None and not check:
        run.out.line(am_config.render(doc).rstrip("\n"))        # secrets as ***
    if written.check:
        run.out.info(f"amtool check-config: {_verdict(written.check)}")
    if written.path:
        run.out.line(f"wrote {written.path} (0600): critical -> {', '.join(routes['critical'])}; "
                     f"warning -> {', '.join(routes['warning'])}")
    if am_config.NONE in routes["warning"]:
        run.out.warn("no notify.alertmanager.slack_webhook: warnings are not sent anywhere")
    return {"path": written.path, "routing": routes, "checked": bool(check),
            **({"config": am_config.data(doc)} if path is None else {})}


def _verdict(said: str) -> str:
    """The checker's SUCCESS line (promtool: "SUCCESS: 4 rules found"), or its last line."""
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    ok = [line for line in lines if "SUCCESS" in line]
    return (ok or lines or ["passed"])[-1].replace("Checking '<file>'", "").strip()

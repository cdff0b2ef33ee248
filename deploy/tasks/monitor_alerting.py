"""Monitoring on Prometheus and Alertmanager: the rules and the routing, rendered from the project."""

from __future__ import annotations

from pathlib import Path

from deploy.cli import Run, deploy_task
from deploy.monitoring import alerts_spec, prom_rules, rendered

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
        run.out.info(f"promtool: {written.check.splitlines()[-1].strip()}")
    if written.path:
        run.out.line(f"wrote {written.path}: {len(names)} rule(s): {', '.join(names)}")
    return {"path": written.path, "rules": names, "checked": bool(check),
            **({"text": text} if path is None else {})}

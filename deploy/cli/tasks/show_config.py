"""The resolved environment, as the tasks see it."""

from __future__ import annotations

from deploy.cli.task import Run, deploy_task


def resolved(run: Run) -> dict:
    """The environment after ${VAR} resolution and validation; every secret as ***."""
    import json

    from deploy.output.console import to_json

    return json.loads(to_json(run.env.model_dump(mode="python")))


@deploy_task(namespace="tasks")
def config(run: Run):
    """Print the resolved environment (bases and overlay merged, ${VAR}s resolved), secrets masked."""
    import yaml

    data = resolved(run)
    layers = " + ".join(run.env.layers) or run.env.source_file   # bases first, an overlay last
    run.out.line(f"# environment {run.env.name} ({layers}), secrets as ***")
    run.out.line(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())
    return {"config": data}

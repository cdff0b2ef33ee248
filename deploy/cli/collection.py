"""The Invoke collection of every task: used by tasks.py (plain `invoke` in a checkout) and by the
`marketplace-deploy` console script (deploy/cli/program.py), so both see the same tasks and flags."""

from __future__ import annotations

from invoke import Collection

from deploy.cli.tasks import (checks, db, db_tools, deploy, deploy_database, deploy_web, lock, monitor, monitor_alerting,
                          rollback, rollback_database, rollback_web, rollout)
from deploy.cli.tasks.demo import demo
from deploy.cli.tasks.init import init
from deploy.cli.tasks.operate import logs, restart
from deploy.cli.tasks.show_config import config
from deploy.cli.tasks.status import status


def merged(name: str, doc: str, *modules) -> Collection:
    """One namespace from several task modules (each module keeps to one concern)."""
    ns = Collection(name)
    ns.__doc__ = doc
    for module in modules:
        for task in Collection.from_module(module).tasks.values():
            ns.add_task(task)
    return ns


def build() -> Collection:
    return Collection(
        checks,
        merged("db", db.__doc__, db, db_tools),
        merged("deploy", "The phases of the rollout, and its history.", deploy_database, deploy, deploy_web),
        merged("rollback", "Roll a phase back.", rollback_database, rollback, rollback_web),
        rollout,
        lock,
        merged("monitor", monitor.__doc__, monitor, monitor_alerting),
        status,
        logs,
        restart,
        demo,
        init,
        config,
    )


namespace = build()

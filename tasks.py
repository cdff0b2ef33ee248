"""Seller Rating System rollout: `invoke --list` shows every task, `invoke --help TASK` its flags."""

from invoke import Collection

from deploy.tasks import (checks, db, db_tools, deploy, deploy_database, deploy_web, monitor, monitor_alerting,
                          rollback, rollback_database, rollback_web, rollout)
from deploy.tasks.demo import demo
from deploy.tasks.operate import logs, restart
from deploy.tasks.status import status


def merged(name: str, doc: str, *modules) -> Collection:
    """One namespace from several task modules (each module keeps to one concern)."""
    ns = Collection(name)
    ns.__doc__ = doc
    for module in modules:
        for task in Collection.from_module(module).tasks.values():
            ns.add_task(task)
    return ns


namespace = Collection(
    checks,
    merged("db", db.__doc__, db, db_tools),
    merged("deploy", "The phases of the rollout, and its history.", deploy_database, deploy, deploy_web),
    merged("rollback", "Roll a phase back.", rollback_database, rollback, rollback_web),
    rollout,
    merged("monitor", monitor.__doc__, monitor, monitor_alerting),
    status,
    logs,
    restart,
    demo,
)

"""Seller Rating System rollout: `invoke --list` shows every task, `invoke --help TASK` its flags."""

from invoke import Collection

from deploy.tasks import checks
from deploy.tasks.demo import demo
from deploy.tasks.status import status

namespace = Collection(checks, status, demo)

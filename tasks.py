"""Seller Rating System rollout: `invoke --list` shows every task, `invoke --help TASK` its flags.

The same collection is the `marketplace-deploy` console script (deploy/cli/program.py). Loading this
file also gives invoke's own program our parse-error contract (exit 2, --json envelope) for the
task names and flags it parses after this file is loaded.
"""

from deploy.cli.collection import namespace
from deploy.cli.program import adopt_running_invoke

adopt_running_invoke()

__all__ = ["namespace"]

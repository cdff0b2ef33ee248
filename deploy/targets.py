"""Moved to deploy.engine.targets (kept for branches written before the move)."""
from deploy.engine.targets import HOST_HELP, ROLE_HELP, names, select  # noqa: F401

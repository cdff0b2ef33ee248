"""Moved to deploy.engine.workers (kept for branches written before the move)."""
from deploy.engine.workers import (cluster_policy, http_gate, release_of, stable, wait_ready,  # noqa: F401
                                   wait_workers, worker_verdict)

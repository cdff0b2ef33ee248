"""The health gate, the smoke checks, the metrics gate.

    health.py   the per-host health gate and the smoke checks (checks/smoke.yaml)
    metrics.py  phase 3's metrics gate: error rate and p95 (probe or Prometheus)
"""

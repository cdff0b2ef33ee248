"""Phase 0: the pre-deployment checklist and its spec.

    checklist.py  phase 0: the pre-deployment checklist, measured
    sections.py   the checklist's section names (imports nothing: --help)
    spec.py       checks/preflight.yaml -> a validated spec; the env-var rules
"""

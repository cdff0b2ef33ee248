"""Phase 2, phase 3 (web release, flag), phases 1 and 4, rollback.frontend.

    database.py           phase 1 (schema), phase 4 (backfill), rollback.database
    frontend_rollback.py  rollback.frontend: the previous web release, or the flag off
    phase2.py             phase 2, the API release, and rollback.backend
    phase3.py             phase 3: the web release and the flag's staged rollout
    phase3_output.py      phase 3's per-unit table, --json body and --dry-run plan
    site.py               the apps phase 3 works on and their flag units, from config
    web_release.py        the web app's release in the runbook's three modes (process, static, command)
"""

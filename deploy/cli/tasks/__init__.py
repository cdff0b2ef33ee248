"""Invoke task modules, one per namespace; each module's docstring is the namespace's help.

    checks.py             checks before a deploy: the runbook's pre-deployment checklist (phase 0)
    common.py             flag help and flag parsing shared by the task modules
    db.py                 database: migration status, migrate, schema verify, verified backups, a guarded restore, diagnose
    db_tools.py           database tools for operators: diagnose the rating queries; run the database client's commands
    demo.py               the demo: the main job, end to end, on the embedded local environment
    deploy.py             the API release (phase 2) and the releases on each host; part of the deploy namespace
    deploy_database.py    phase 1 (schema) and phase 4 (backfill), and the deploy history; part of the deploy namespace
    deploy_web.py         phase 3: the web release and the feature flag's stages; part of the deploy namespace
    init.py               start a deploy repository
    lock.py               the deploy lock: who holds it, and holding deploys on purpose (a freeze) until released
    monitor.py            monitoring: engagement metrics, aggregate checks and their fix, alerts, and the success criteria
    monitor_alerting.py   monitoring on Prometheus and Alertmanager: the rules and the routing, rendered from the project
    operate.py            operating the running apps: the runbook's `pm2 logs` and `pm2 restart`, over every host
    rollback.py           the backend rollback (part of the rollback namespace)
    rollback_database.py  the database rollback (part of the rollback namespace)
    rollback_web.py       the frontend rollback (part of the rollback namespace)
    rollout.py            the feature flag's rollout: which users are in at which percentage (sticky bucketing)
    show_config.py        the resolved environment, as the tasks see it
    status.py             what runs where
"""

"""Phased, gated rollout of the marketplace's Seller Rating System.

Map of the package (one line each; every folder is a package with its own map):

    cli/         the command line: the task wrapper, the console script, the collection, tasks/
    config/      configuration: environments/*.yaml (+ extends:, $DEPLOY_OVERLAY, ${VAR}s) -> typed config; shipped files
    output/      what the tool says: terminal and --json, progress, JUnit, chat messages
    hosts/       hosts and the Fleet (the only runners), host facts, an SSH tunnel to the database
    commands/    pure builders: shell, the release tree, HAProxy's runtime API
    process/     process-manager adapters (supervisord, pm2, systemd) and their templates
    releases/    the artifact, a host's releases and the steps on them, the two slots, disk room
    engine/      the release engine: context, per-host turn + undo, steps, roll, results, side by side
    phases/      phase 2, phase 3 (web release, flag), phases 1 and 4, rollback.frontend
    flag/        the feature flag: units on the hosts, its journal, the stage policy
    gates/       the health gate, the smoke checks, the metrics gate
    lb/          the load balancer: HAProxy's runtime API, hosts left out of traffic
    preflight/   phase 0: the pre-deployment checklist and its spec
    operate/     status, logs, restart, unfinished runs
    db/          everything database: connections, migrations, backups, the journal and the lock
    monitoring/  monitor.*: metrics, alerts, success criteria, Prometheus and Alertmanager
    diagnose/    db.diagnose: slow rating requests and duplicate ratings, as findings
    demo/        the demo's users, traffic and claims
    errors.py    the exceptions every task maps to one exit code
    secrets.py   Secret values and mask(): printed as *** everywhere
    lazy.py      a module imported on first use (task modules name their implementation so)
    run.py       Run: one task's environment, output, actor and database (what the library takes)
    executor.py  deploy lock + journal + recorded undo around every mutating task
"""

__version__ = "0.1.0"

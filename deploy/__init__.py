"""Phased, gated rollout of the marketplace's Seller Rating System.

Map of the package (one line each; the folders are packages with their own map):

    cli.py, program.py, collection.py, tasks/    the CLI layer: task wrapper, console script, tasks
    run.py                     Run: one task's environment, output and actor (what the library takes)
    config.py, config_refs.py, secrets.py, shipped.py   environments/*.yaml -> typed config; secrets
    errors.py, output.py, junit.py, notify.py    exit codes, human/--json output, JUnit, chat messages
    hosts.py, tunnel.py        hosts and the Fleet (the only runners), an SSH tunnel to the database
    executor.py                deploy lock + journal + recorded undo around every mutating task
    commands/, process/, facts.py, releases.py   pure builders: shell, releases, HAProxy; process managers
    artifact.py                the release artifact: built once, checksummed
    engine/                    the release engine: context, per-host turn + undo, steps, roll, results
    phase2.py, restart.py      the API release and rollback.backend; invoke restart (on the engine)
    phase3.py, site.py, web_release.py, phase3_output.py, frontend_rollback.py   phase 3, rollback.frontend
    flag.py, flag_journal.py, rollout.py, rollout_traffic.py   the feature flag: units, journal, policy
    gates.py, lb.py, metrics_gate.py   health and smoke gates, HAProxy's runtime API, the metrics gate
    database_phases.py, db/    phase 1, phase 4, rollback.database; everything database
    preflight.py, preflight_spec.py, status.py, logs.py, unfinished.py   checks, status, logs
    monitoring/, diagnose/     monitor.* and db.diagnose
    traffic.py, demo_claims.py   the demo's users and its claims
    targets.py, worker_gate.py   moved into engine/ (kept for branches written before the move)
"""

__version__ = "0.1.0"

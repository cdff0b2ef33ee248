"""Phased, gated rollout of the marketplace's Seller Rating System.

Map of the package (one line each; the folders are packages with their own map):

    cli.py, program.py, collection.py, tasks/    the CLI layer: task wrapper, console script, tasks
    run.py                     Run: one task's environment, output and actor (what the library takes)
    lazy.py, progress.py       task modules load their implementation on use; progress on a terminal
    config.py, config_layers.py, config_refs.py, secrets.py, shipped.py   environments/*.yaml (+ extends:,
                               $DEPLOY_OVERLAY) -> typed config; secrets
    errors.py, output.py, junit.py, notify.py    exit codes, human/--json output, JUnit, chat messages
    hosts.py, tunnel.py        hosts and the Fleet (the only runners), an SSH tunnel to the database
    executor.py                deploy lock + journal + recorded undo around every mutating task
    commands/, process/, facts.py, releases.py   pure builders: shell, releases, HAProxy; process managers
    artifact.py                the release artifact: built once, checksummed
    engine/                    the release engine: context, per-host turn + undo, steps, roll, results
    phase2.py, restart.py      the API release and rollback.backend; invoke restart (on the engine)
    side_by_side.py, slots.py  the side-by-side switch: the release boots on the idle slot, HAProxy moves
    disk_room.py, lb_leftovers.py   room for a release before upload; hosts an LB may still hold in maint
    phase3.py, site.py, web_release.py, phase3_output.py, frontend_rollback.py   phase 3, rollback.frontend
    flag.py, flag_journal.py, rollout.py, rollout_traffic.py   the feature flag: units, journal, policy
    gates.py, lb.py, metrics_gate.py   health and smoke gates, HAProxy's runtime API, the metrics gate
    database_phases.py, db/    phase 1, phase 4, rollback.database; everything database
    preflight.py, preflight_spec.py, preflight_sections.py, status.py, logs.py, log_times.py,
    unfinished.py              checks, status, logs (--since reads each line's stamp)
    monitoring/, diagnose/     monitor.* and db.diagnose
    traffic.py, demo_claims.py   the demo's users and its claims
"""

__version__ = "0.1.0"

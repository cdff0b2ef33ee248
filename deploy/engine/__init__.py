"""The release engine: one app context, one per-host turn (drain -> switch -> restart -> gate ->
ready, and its undo), steps as data, one rolling loop, one result type.

    context.py       AppContext (one app on its hosts, from config), Journal (thread-safe events)
    steps.py         Drain, Ready, LbState, HealthGate beside releases.steps.Exec/Upload; their dry-run lines
    strategy.py      the switch strategy (the seam): InPlace builds a turn's, an undo's, a reload's steps;
                     SideBySide: a restart / reload on the serving slot, the side-by-side release's steps
    turn.py          Turn: the one place steps are applied on a host; undo; a reload (the flag)
    roll.py          observe, roll (batch by batch), report_where_now
    ship.py          a release's files on every host before any switch (reused where the host holds
                     its sha256), pruned after
    rollback.py      a release rolled back (rollback.backend, rollback.frontend)
    runs.py          HostRun: what happened to one host
    results.py       Outcome (every task's result), host rows and table
    plan.py          --dry-run: the same steps, printed
    targets.py       --host / --role filters
    workers.py       the pm2 cluster gate (every worker on the release)
    side_by_side.py  the side-by-side switch: boot beside the running release, move the LB
    starting.py      a restart whose health gate begins at the spawn, not after the process manager's own wait
"""

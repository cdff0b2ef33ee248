"""Status, logs, restart, unfinished runs.

    log_times.py   `logs --since`: the time a log line was written, read from the line
    logs.py        `invoke logs`: an app's logs from each host, host-prefixed
    restart.py     `invoke restart`: rolling, drained, health-gated (the engine's turn)
    status.py      `invoke status`: what runs where (linked and served releases, flag, lock)
    unfinished.py  runs the journal shows started and never finished (pure)
"""

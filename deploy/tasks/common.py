"""Flag help shared by the task modules."""

DRY_RUN = "print exactly what would run (SQL, commands; secrets masked) and change nothing"
LOCK_WAIT = "wait up to SECONDS for another deploy's lock instead of exiting 3 at once"

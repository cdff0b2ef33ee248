#!/bin/sh
# Run a deploy task; while it exits 4 ("a gate is not yet satisfied": soak or stage time left),
# wait and run it again. Exit 4 is "not yet", never a failure; any other code ends the job with
# that code (0 done, 1 failed and undone, 2 bad input, 3 lock held).
#
#   sh examples/ci/retry-while-not-yet.sh invoke deploy.phase3 --rollout 10 --json --env production
#
#   RETRY_EVERY  seconds between tries (default 600)
#   RETRY_FOR    stop trying after this many seconds (default 93600, 26 h: the 24 h soak after
#                phase 2 plus a margin); then exit 4 - run the job again later, nothing is lost
set -u
every=${RETRY_EVERY:-600}
limit=${RETRY_FOR:-93600}
started=$(date +%s)
while :; do
  "$@"
  code=$?
  if [ "$code" -ne 4 ]; then
    exit "$code"
  fi
  waited=$(( $(date +%s) - started ))
  if [ $(( waited + every )) -gt "$limit" ]; then
    echo "not yet after ${waited}s (exit 4): giving up for now; run this job again later" >&2
    exit 4
  fi
  echo "not yet (exit 4): trying again in ${every}s" >&2
  sleep "$every"
done

"""The Node API's flag bucketing is tested (npm test) against test-fixtures/buckets.json; this
holds that file to deploy/flag/rollout.py's bucket on the same ids, so both sides answer alike."""

import json
from pathlib import Path

from deploy.flag.rollout import bucket

FIXTURE = Path(__file__).resolve().parents[2] / "examples" / "marketplace-node" / "test-fixtures" / "buckets.json"


def test_the_node_fixture_is_what_deploy_rollout_computes():
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert len(rows) > 200 and {r["flag"] for r in rows} == {"rating", "checkout"}
    assert [r["bucket"] for r in rows] == [bucket(r["flag"], r["userId"]) for r in rows]

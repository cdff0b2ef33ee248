"""Sticky bucketing: murmur3 vectors, rollout monotonicity, and the browser copy agreeing."""

from __future__ import annotations

import json
import shutil
import subprocess
import unittest

from marketplace import bucketing
from marketplace.config import FlagSettings
from tests import support

# Computed once with the mmh3 package: mmh3.hash(s.encode("utf-8"), seed, signed=False).
VECTORS = [
    ("", 0, 0), ("a", 0, 1009084850), ("ab", 0, 2613040991), ("abc", 0, 3017643002),
    ("abcd", 0, 1139631978), ("abcde", 0, 3902511862), ("hello", 0, 613153351),
    ("rating:1", 0, 2673097400), ("rating:42", 0, 750910408), ("rating:100000", 0, 2701655389),
    ("rating:user-7", 0, 2706434991), ("The quick brown fox jumps over the lazy dog", 0, 776992547),
    ("rating:é", 0, 2301984556), ("flag:ünïcødé-用户", 0, 2738191476), ("rating:0", 0, 2870670536),
    ("hello", 1, 3142237357), ("hello", 0x9747B28C, 1568626408), ("rating:42", 42, 2110336716),
]
# mmh3.hash(f"rating:{i}") % 100 + 1
NORMALIZED = {1: 1, 2: 83, 3: 96, 10: 81, 123: 2, 9999: 60}
IDS = 100_000


class MurmurTest(unittest.TestCase):
    def test_vectors(self):
        for text, seed, expected in VECTORS:
            self.assertEqual(bucketing.murmur3_32(text.encode("utf-8"), seed), expected, (text, seed))

    def test_normalized(self):
        for user, expected in NORMALIZED.items():
            self.assertEqual(bucketing.normalized_value("rating", user), expected)


class RolloutTest(unittest.TestCase):
    def test_sticky_as_percentage_grows(self):
        stages = (10, 25, 50)
        members = {p: {u for u in range(IDS) if bucketing.in_rollout("rating", u, p)} for p in stages}
        self.assertTrue(members[10] <= members[25] <= members[50])
        for pct in stages:
            share = len(members[pct]) / IDS
            self.assertAlmostEqual(share, pct / 100, delta=0.01, msg=pct)

    def test_edges(self):
        self.assertFalse(any(bucketing.in_rollout("rating", u, 0) for u in range(1000)))
        self.assertTrue(all(bucketing.in_rollout("rating", u, 100) for u in range(1000)))
        self.assertFalse(bucketing.in_rollout("rating", None, 100))
        self.assertFalse(bucketing.in_rollout("rating", "", 100))

    def test_master_switch(self):
        self.assertFalse(bucketing.feature_on(FlagSettings(False, 100, "rating"), 1))
        self.assertTrue(bucketing.feature_on(FlagSettings(True, 100, "rating"), 1))
        self.assertTrue(bucketing.feature_on(FlagSettings(True, 1, "rating"), 1))    # bucket 1
        self.assertFalse(bucketing.feature_on(FlagSettings(True, 82, "rating"), 2))  # bucket 83

    def test_flag_name_changes_buckets(self):
        a = {u for u in range(2000) if bucketing.in_rollout("rating", u, 10)}
        b = {u for u in range(2000) if bucketing.in_rollout("rating-v2", u, 10)}
        self.assertNotEqual(a, b)


NODE_SCRIPT = """
const path = process.argv[1];
require(path);
const B = globalThis.MarketplaceBucketing;
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {
  hashes: input.vectors.map(([s, seed]) => B.murmur3_32(B.utf8(s), seed)),
  normalized: input.ids.map((id) => B.normalizedValue('rating', id)),
  on: [B.featureOn({enabled: true, percentage: 25, name: 'rating'}, 7),
       B.featureOn({enabled: false, percentage: 100, name: 'rating'}, 7),
       B.featureOn({enabled: true, percentage: 100}, '')],
};
console.log(JSON.stringify(out));
"""


def run_node(script_path: str, ids: list[int]) -> dict:
    node = shutil.which("node")
    support.need(node is not None, "needs node on PATH to check the browser bucketing")
    payload = json.dumps({"vectors": [[t, s] for t, s, _ in VECTORS], "ids": ids})
    result = subprocess.run([node, "-e", NODE_SCRIPT, script_path], input=payload,
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return json.loads(result.stdout)


class BrowserCopyTest(unittest.TestCase):
    def check(self, script_path: str):
        ids = list(range(5000)) + ["user-7", "ünï"]
        out = run_node(script_path, ids)
        self.assertEqual(out["hashes"], [expected for _, _, expected in VECTORS])
        self.assertEqual(out["normalized"], [bucketing.normalized_value("rating", i) for i in ids])
        self.assertEqual(out["on"], [bucketing.in_rollout("rating", 7, 25), False, False])

    def test_bucketing_js_matches_python(self):
        self.check(str(support.APP_ROOT / "web" / "static" / "bucketing.js"))


if __name__ == "__main__":
    unittest.main()

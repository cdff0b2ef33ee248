// The flag's bucketing gives exactly what deploy/flag/rollout.py gives: test-fixtures/buckets.json is
// written from deploy.flag.rollout.bucket, and tests/unit/test_marketplace_node.py holds it to that.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { bucket, inRollout, murmur3_32 } from "../bucketing.js";

const rows: { flag: string; userId: string | number; bucket: number }[] =
  JSON.parse(readFileSync(path.join(__dirname, "..", "..", "test-fixtures", "buckets.json"), "utf8"));

test("the same buckets as deploy/flag/rollout.py", () => {
  assert.ok(rows.length > 200);
  for (const row of rows) assert.equal(bucket(row.flag, row.userId), row.bucket, `${row.flag}:${row.userId}`);
});

test("murmur3 x86 32-bit reference values", () => {
  assert.equal(murmur3_32(new Uint8Array()), 0);
  assert.equal(murmur3_32(new TextEncoder().encode("hello")), 0x248bfa47);
  assert.equal(murmur3_32(new TextEncoder().encode("The quick brown fox jumps over the lazy dog")), 0x2e4ff723);
});

test("raising the percentage only adds users; no user id, no rollout", () => {
  for (let id = 1; id <= 300; id++) {
    let seen = false;
    for (const pct of [0, 10, 25, 50, 100]) {
      const on = inRollout("rating", id, pct);
      assert.ok(!(seen && !on), `user ${id} dropped out at ${pct}%`);
      seen ||= on;
    }
    assert.equal(inRollout("rating", id, 100), true);
    assert.equal(inRollout("rating", id, 0), false);
  }
  assert.equal(inRollout("rating", null, 100), false);
  assert.equal(inRollout("rating", "", 100), false);
});

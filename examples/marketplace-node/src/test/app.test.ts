// The HTTP contract against an in-memory store: /health, 401 without a token, can-rate, a rating
// that updates the seller's aggregates, rate limiting, /metrics.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { createApp, writeLimit } from "../app.js";
import { mint } from "../auth.js";
import { ConfigError, loadSettings, readVersion } from "../config.js";
import { createMetrics } from "../metrics.js";
import { DatabaseState, Eligibility, RatingJson, Store, refuse, summary } from "../store.js";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";

class MemoryStore implements Store {
  state: DatabaseState = "ok";
  users = new Map([[1, "Seller One"], [2, "Buyer Two"], [3, "Buyer Three"]]);
  orders = [{ buyer: 2, seller: 1, status: "completed" }];
  ratings: RatingJson[] = [];
  async status() { return this.state; }
  async sellerSummary(id: number) {
    const name = this.users.get(id);
    if (!name) return null;
    const mine = this.ratings.filter((r) => r.sellerId === id);
    const avg = mine.length ? mine.reduce((s, r) => s + r.rating, 0) / mine.length : null;
    return summary(id, name, avg, mine.length, mine.filter((r) => r.rating >= 4).length);
  }
  async listRatings(id: number, limit: number, offset: number) {
    return this.ratings.filter((r) => r.sellerId === id).slice(offset, offset + limit);
  }
  async eligibility(rater: number, seller: number): Promise<Eligibility> {
    if (!this.users.has(seller)) return { canRate: false, reason: "seller-not-found" };
    if (rater === seller) return { canRate: false, reason: "cannot-rate-self" };
    const had = this.ratings.find((r) => r.sellerId === seller && r.raterId === rater);
    if (had) return { canRate: false, reason: "already-rated", ratingId: had.id };
    if (!this.orders.some((o) => o.buyer === rater && o.seller === seller && o.status === "completed")) {
      return { canRate: false, reason: "no-completed-order" };
    }
    return { canRate: true, reason: "eligible" };
  }
  async createRating(rater: number, seller: number, rating: number, comment: string | null) {
    const check = await this.eligibility(rater, seller);
    if (!check.canRate) throw refuse(check);
    const now = new Date().toISOString();
    const row = { id: this.ratings.length + 1, sellerId: seller, raterId: rater, raterName: this.users.get(rater)!,
                  rating, comment, createdAt: now, updatedAt: now };
    this.ratings.push(row);
    return { rating: row, seller: (await this.sellerSummary(seller))! };
  }
  async close() {}
}

const root = mkdtempSync(path.join(os.tmpdir(), "release-"));
writeFileSync(path.join(root, "VERSION"), "20260101000000-abc1234\n");
const settings = loadSettings({ JWT_SECRET: SECRET, DATABASE_URL: "postgresql://x/y", RATE_LIMIT_WINDOW_MS: "60000",
  RATE_LIMIT_MAX_REQUESTS: "30", ENABLE_RATING_FEATURE: "true", RATING_ROLLOUT_PERCENTAGE: "25" }, root);
const store = new MemoryStore();
let base = "";
let server: ReturnType<ReturnType<typeof createApp>["listen"]>;

before(async () => {
  server = createApp(settings, store, createMetrics(settings)).listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const auth = (user: number) => ({ authorization: `Bearer ${mint(SECRET, user)}` });

test("health: status, the release's version, database state and the flag", async () => {
  const res = await fetch(`${base}/health`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.version, "20260101000000-abc1234");
  assert.equal(body.database, "ok");
  assert.deepEqual(body.flag, { enabled: true, percentage: 25, name: "rating" });
  store.state = "unreachable";
  const down = await fetch(`${base}/health`);
  assert.equal(down.status, 503);
  assert.equal((await down.json()).status, "error");
  store.state = "ok";
});

test("ratings need a token; a bad one is refused", async () => {
  const none = await fetch(`${base}/api/v1/ratings/seller/1`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="marketplace"');
  const forged = await fetch(`${base}/api/v1/ratings/seller/1`, { headers: { authorization: `Bearer ${mint("other-secret-xxxxxxxxxxxxxxxxxxxxxxx", 2)}` } });
  assert.equal(forged.status, 401);
  assert.equal((await fetch(`${base}/api/v1/ratings/seller/abc`, { headers: auth(2) })).status, 400);
  assert.equal((await fetch(`${base}/api/v1/ratings/seller/99`, { headers: auth(2) })).status, 404);
});

test("can-rate, then a rating updates the seller's aggregates", async () => {
  const can = await fetch(`${base}/api/v1/ratings/can-rate/1`, { headers: auth(2) });
  assert.equal(can.status, 200);
  assert.deepEqual(await can.json(), { canRate: true, reason: "eligible" });
  const noOrder = await (await fetch(`${base}/api/v1/ratings/can-rate/1`, { headers: auth(3) })).json();
  assert.deepEqual(noOrder, { canRate: false, reason: "no-completed-order" });
  const created = await fetch(`${base}/api/v1/ratings`, { method: "POST", headers: { ...auth(2), "content-type": "application/json" },
    body: JSON.stringify({ sellerId: 1, rating: 5, comment: "fast" }) });
  assert.equal(created.status, 201);
  const body = await created.json();
  assert.equal(body.seller.totalRatings, 1);
  assert.equal(body.seller.averageRating, 5);
  assert.equal(body.seller.positivePercentage, 100);
  const again = await fetch(`${base}/api/v1/ratings`, { method: "POST", headers: { ...auth(2), "content-type": "application/json" },
    body: JSON.stringify({ sellerId: 1, rating: 4 }) });
  assert.equal(again.status, 409);
  assert.equal((await again.json()).ratingId, 1);
  const bad = await fetch(`${base}/api/v1/ratings`, { method: "POST", headers: { ...auth(3), "content-type": "application/json" },
    body: JSON.stringify({ sellerId: 1, rating: 9 }) });
  assert.equal(bad.status, 400);
  const page = await (await fetch(`${base}/api/v1/ratings/seller/1`, { headers: auth(3) })).json();
  assert.equal(page.ratings.length, 1);
  assert.equal(page.seller.totalRatings, 1);
});

test("writes are rate limited at a tenth of the read limit", async () => {
  assert.equal(writeLimit(30), 3);
  assert.equal(writeLimit(5), 1);
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    statuses.push((await fetch(`${base}/api/v1/ratings`, { method: "POST", headers: { ...auth(3), "content-type": "application/json" },
      body: JSON.stringify({ sellerId: 1, rating: 3 }) })).status);
  }
  // the earlier test made 3 writes in this window already
  assert.deepEqual(statuses, [429, 429, 429, 429]);
});

test("metrics in Prometheus text", async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /http_requests_total\{route="\/health",method="GET",status="200"\} \d+/);
  assert.match(text, /rating_feature_percentage 25/);
  assert.match(text, /rate_limit_hits_total\{limiter="create"\} 4/);
});

test("settings: a bad value names the variable; VERSION falls back to dev", () => {
  assert.throws(() => loadSettings({ JWT_SECRET: SECRET, DATABASE_URL: "x", PORT: "http" }, root),
    (err: Error) => err instanceof ConfigError && err.message === 'PORT: "http" is not a whole number');
  assert.throws(() => loadSettings({ DATABASE_URL: "x" }, root), /JWT_SECRET: not set/);
  assert.equal(readVersion({}, os.tmpdir()), "dev");
});

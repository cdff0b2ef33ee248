// The HTTP contract (the same as the Python stand-in's, which the pipeline's gates rely on):
//   GET /health                          status, version (the release's VERSION), database, flag
//   GET /metrics                         Prometheus text (prom-client)
//   GET /api/v1/ratings/seller/:id       a seller's aggregates and ratings   (bearer token)
//   GET /api/v1/ratings/can-rate/:id     may the token's user rate this seller (bearer token)
//   POST /api/v1/ratings                 rate a seller; aggregates updated in the same transaction
// Rate limits (express-rate-limit) from RATE_LIMIT_WINDOW_MS / RATE_LIMIT_MAX_REQUESTS; writes
// get a tenth of the read limit. Per worker: each pm2 cluster worker keeps its own counters.
import express, { NextFunction, Request, Response } from "express";
import { rateLimit } from "express-rate-limit";
import { AuthError, userIdFromHeader } from "./auth.js";
import type { Settings } from "./config.js";
import type { AppMetrics } from "./metrics.js";
import { RatingError, Store } from "./store.js";

const MAX_ID = 2_147_483_647;
const STARTED = Date.now();

class BadInput extends Error {}

function parseId(raw: string, what: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_ID) throw new BadInput(`${what} must be a positive integer`);
  return Number(raw);
}

function parsePage(query: Request["query"]): [number, number] {
  const limit = Number(query.limit ?? "20");
  const offset = Number(query.offset ?? "0");
  if (!Number.isInteger(limit) || !Number.isInteger(offset)) throw new BadInput("limit and offset must be integers");
  if (limit < 1 || limit > 100 || offset < 0) throw new BadInput("limit must be 1..100 and offset >= 0");
  return [limit, offset];
}

function error(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  res.status(status).json({ error: code, message, ...extra });
}

export function writeLimit(maxRequests: number): number {
  return Math.max(1, Math.floor(maxRequests / 10));
}

export function createApp(settings: Settings, store: Store, metrics: AppMetrics): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "16kb" }));
  app.use((req, res, next) => {
    const stop = metrics.duration.startTimer();
    res.on("finish", () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
      stop({ route, method: req.method });
      metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
    });
    next();
  });

  app.get("/health", async (_req, res) => {
    const database = await store.status();
    const unreachable = database === "unreachable";
    res.set("Cache-Control", "no-store").status(unreachable ? 503 : 200).json({
      status: unreachable ? "error" : "ok", version: settings.version, app: "api", flag: settings.flag,
      database, uptimeSeconds: Math.round((Date.now() - STARTED) / 100) / 10, pid: process.pid,
    });
  });
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const limiter = (name: string, limit: number) => rateLimit({
    windowMs: settings.rateWindowMs, limit, standardHeaders: "draft-6", legacyHeaders: false,
    handler: (_req, res) => {
      metrics.rateLimited.inc({ limiter: name });
      error(res, 429, "rate-limited", "too many requests, try again later");
    },
  });
  const read = limiter("read", settings.rateMaxRequests);
  const create = limiter("create", writeLimit(settings.rateMaxRequests));
  const authenticated = (req: Request, res: Response, next: NextFunction) => {
    try {
      res.locals.userId = userIdFromHeader(req.get("authorization"), settings.jwtSecret);
      next();
    } catch (err) {
      if (!(err instanceof AuthError)) return next(err);
      res.set("WWW-Authenticate", 'Bearer realm="marketplace"');
      error(res, 401, "unauthorized", err.message);
    }
  };
  const handle = (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);

  const ratings = express.Router();
  ratings.get("/seller/:id", read, authenticated, handle(async (req, res) => {
    const sellerId = parseId(String(req.params.id), "seller id");
    const [limit, offset] = parsePage(req.query);
    const seller = await store.sellerSummary(sellerId);
    if (!seller) return error(res, 404, "seller-not-found", "no such seller");
    res.json({ seller, ratings: await store.listRatings(sellerId, limit, offset), limit, offset });
  }));
  ratings.get("/can-rate/:sellerId", read, authenticated, handle(async (req, res) => {
    const sellerId = parseId(String(req.params.sellerId), "seller id");
    const check = await store.eligibility(res.locals.userId, sellerId);
    if (check.reason === "seller-not-found") return error(res, 404, "seller-not-found", "no such seller");
    res.json({ canRate: check.canRate, reason: check.reason, ...(check.ratingId ? { ratingId: check.ratingId } : {}) });
  }));
  ratings.post("/", create, authenticated, handle(async (req, res) => {
    const body = req.body ?? {};
    const sellerId = typeof body.sellerId === "string" ? Number(body.sellerId) : body.sellerId;
    if (!Number.isInteger(sellerId) || sellerId < 1 || sellerId > MAX_ID) throw new BadInput("sellerId must be a positive integer");
    if (!Number.isInteger(body.rating) || body.rating < 1 || body.rating > 5) throw new BadInput("rating must be an integer 1..5");
    const comment = body.comment ?? null;
    if (comment !== null && (typeof comment !== "string" || comment.length > 1000)) {
      throw new BadInput("comment must be text of at most 1000 characters");
    }
    res.status(201).json(await store.createRating(res.locals.userId, sellerId, body.rating, comment));
  }));
  app.use("/api/v1/ratings", ratings);

  app.use((_req: Request, res: Response) => error(res, 404, "not-found", "no such route"));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BadInput) return error(res, 400, "bad-request", err.message);
    if (err instanceof RatingError) return error(res, err.status, err.code, err.message, err.extra);
    if ((err as { code?: string }).code === "P2002") return error(res, 409, "already-rated", "you have already rated this seller");
    if ((err as { type?: string }).type === "entity.parse.failed") return error(res, 400, "bad-request", "the body is not JSON");
    console.error(`error: ${(err as Error).message ?? err}`);
    error(res, 500, "internal", "internal error");
  });
  return app;
}

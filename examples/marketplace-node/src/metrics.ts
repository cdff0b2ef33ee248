// Prometheus metrics (prom-client), the same names as the Python stand-in's: the pipeline's
// monitoring reads http_requests_total / http_request_duration_seconds by route, method, status.
import client from "prom-client";
import type { Settings } from "./config.js";

export interface AppMetrics {
  registry: client.Registry;
  requests: client.Counter<"route" | "method" | "status">;
  duration: client.Histogram<"route" | "method">;
  rateLimited: client.Counter<"limiter">;
}

export function createMetrics(settings: Settings): AppMetrics {
  const registry = new client.Registry();
  // Event-loop lag sampled every 100 ms: prom-client's default of 10 ms wakes every worker ~200 times a
  // second while it is idle (about 1% of a core per worker, 4 per host); lag worth alerting on is far
  // longer than 100 ms.
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const requests = new client.Counter({
    name: "http_requests_total", help: "HTTP requests by route pattern, method and status.",
    labelNames: ["route", "method", "status"] as const, registers: [registry],
  });
  const duration = new client.Histogram({
    name: "http_request_duration_seconds", help: "HTTP request duration in seconds.",
    labelNames: ["route", "method"] as const, registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  const rateLimited = new client.Counter({
    name: "rate_limit_hits_total", help: "Requests refused with 429, by limiter.",
    labelNames: ["limiter"] as const, registers: [registry],
  });
  new client.Gauge({ name: "app_info", help: "Always 1; labels carry the running version.",
    labelNames: ["app", "version"] as const, registers: [registry] }).set({ app: "api", version: settings.version }, 1);
  new client.Gauge({ name: "rating_feature_percentage", help: "Configured rollout percentage of the rating feature.",
    registers: [registry] }).set(settings.flag.percentage);
  new client.Gauge({ name: "rating_feature_enabled", help: "1 when ENABLE_RATING_FEATURE is true.",
    registers: [registry] }).set(settings.flag.enabled ? 1 : 0);
  return { registry, requests, duration, rateLimited };
}

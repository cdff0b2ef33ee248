// Settings from the environment (the env file the pipeline writes, loaded by index.ts), checked
// once at start: a bad value stops the process with one line naming the variable.
import { readFileSync } from "node:fs";
import * as path from "node:path";

export class ConfigError extends Error {}

export interface Flag {
  enabled: boolean;
  percentage: number;
  name: string;
}

export interface Settings {
  host: string;
  port: number;
  version: string;
  nodeEnv: string;
  databaseUrl: string;
  jwtSecret: string;
  rateWindowMs: number;
  rateMaxRequests: number;
  flag: Flag;
  logLevel: string;
}

/** The release's root: dist/.. (VERSION sits there, written by the pipeline's artifact step). */
export const RELEASE_ROOT = path.resolve(__dirname, "..");

export function readVersion(env: NodeJS.ProcessEnv, root = RELEASE_ROOT): string {
  try {
    const text = readFileSync(path.join(root, "VERSION"), "utf8").trim();
    if (text) return text;
  } catch {
    // no VERSION file: a development checkout
  }
  return (env.APP_VERSION ?? "").trim() || "dev";
}

function int(env: NodeJS.ProcessEnv, key: string, fallback: number, low: number, high?: number): number {
  const raw = (env[key] ?? "").trim();
  if (raw === "") return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${key}: ${JSON.stringify(raw)} is not a whole number`);
  const value = Number(raw);
  if (value < low || (high !== undefined && value > high)) {
    throw new ConfigError(`${key}: must be ${high !== undefined ? `${low}..${high}` : `>= ${low}`} (got ${value})`);
  }
  return value;
}

function bool(env: NodeJS.ProcessEnv, key: string, fallback: boolean): boolean {
  const raw = (env[key] ?? "").trim().toLowerCase();
  if (raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${key}: ${JSON.stringify(raw)} is not true or false`);
}

export function loadFlag(env: NodeJS.ProcessEnv): Flag {
  const name = (env.RATING_FLAG_NAME ?? "").trim() || "rating";
  if (name.includes(":")) throw new ConfigError("RATING_FLAG_NAME: must not contain ':'");
  return {
    enabled: bool(env, "ENABLE_RATING_FEATURE", false),
    percentage: int(env, "RATING_ROLLOUT_PERCENTAGE", 100, 0, 100),
    name,
  };
}

export function loadSettings(env: NodeJS.ProcessEnv, root = RELEASE_ROOT): Settings {
  const jwtSecret = env.JWT_SECRET ?? "";
  if (!jwtSecret) throw new ConfigError("JWT_SECRET: not set");
  const databaseUrl = env.DATABASE_URL ?? "";
  if (!databaseUrl) throw new ConfigError("DATABASE_URL: not set");
  return {
    host: (env.HOST ?? "").trim() || "127.0.0.1",
    port: int(env, "PORT", 3000, 1, 65535),
    version: readVersion(env, root),
    nodeEnv: env.NODE_ENV ?? "development",
    databaseUrl,
    jwtSecret,
    rateWindowMs: int(env, "RATE_LIMIT_WINDOW_MS", 900000, 1),
    rateMaxRequests: int(env, "RATE_LIMIT_MAX_REQUESTS", 100, 1),
    flag: loadFlag(env),
    logLevel: env.LOG_LEVEL ?? "info",
  };
}

/** A KEY=VALUE env file over the process environment (the file wins: it is the release's). */
export function loadEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): void {
  const { parseEnv } = require("node:util") as { parseEnv: (text: string) => Record<string, string> };
  Object.assign(env, parseEnv(readFileSync(file, "utf8")));
}

// node dist/index.js [--env-file PATH]: the marketplace API. Under pm2 cluster mode each worker
// runs this file; a reload sends SIGINT to an old worker once its replacement listens, and the
// worker stops taking connections, finishes the ones it has, then exits.
import type { Server } from "node:http";
import { ConfigError, loadEnvFile, loadSettings } from "./config.js";
import { createApp } from "./app.js";
import { PrismaStore } from "./db.js";
import { createMetrics } from "./metrics.js";

function envFileArg(argv: string[]): string | undefined {
  const i = argv.indexOf("--env-file");
  if (i !== -1) return argv[i + 1];
  return argv.find((a) => a.startsWith("--env-file="))?.slice("--env-file=".length);
}

async function main(): Promise<void> {
  let settings;
  try {
    const file = envFileArg(process.argv.slice(2));
    if (file) loadEnvFile(file);
    settings = loadSettings(process.env);
  } catch (err) {
    console.error(`error: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
    process.exit(2);
  }
  const store = new PrismaStore(settings.databaseUrl);
  // Warm up before listening: the first query loads Prisma's query compiler and opens a pool
  // connection (seconds on a busy host). pm2 sends a new cluster worker traffic once it listens,
  // so a cold worker would answer its first requests late during a reload.
  const database = await store.status();
  const app = createApp(settings, store, createMetrics(settings));
  const server: Server = app.listen(settings.port, settings.host, () => {
    console.log(JSON.stringify({ msg: "listening", host: settings.host, port: settings.port, version: settings.version,
      pid: process.pid, worker: process.env.NODE_APP_INSTANCE ?? null, database, flag: settings.flag }));
  });
  server.on("error", (err) => {
    console.error(`error: cannot listen on ${settings.host}:${settings.port}: ${err.message}`);
    process.exit(1);
  });
  const stop = () => {
    server.close(() => {
      store.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 8000).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});

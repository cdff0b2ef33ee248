// Prisma 7 reads the CLI's settings here. `prisma generate` needs no database; the runtime
// connects through a driver adapter (src/db.ts), so DATABASE_URL matters only to the CLI's
// database commands, which this project does not use (schema changes are SQL migrations).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/unused" },
});

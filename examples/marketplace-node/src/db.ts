// The Store on Prisma 7 through a driver adapter: @prisma/adapter-pg here (no query engine
// binary); production's SQL Server goes through @prisma/adapter-mssql, which needs the schema's
// provider switched to "sqlserver" and the package installed (not run on these machines).
import { PrismaPg } from "@prisma/adapter-pg";
import { Prisma, PrismaClient } from "./generated/prisma/client.js";
import {
  DatabaseState, Eligibility, POSITIVE_FROM, RatingJson, SellerSummary, Store, refuse, summary,
} from "./store.js";

type Tx = Prisma.TransactionClient;
type Dialect = "postgres" | "sqlserver";

export function dialectOf(url: string): Dialect {
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  if (/^sqlserver:\/\//i.test(url)) return "sqlserver";
  throw new Error("DATABASE_URL: expected postgresql:// or sqlserver://");
}

function adapterFor(url: string) {
  if (dialectOf(url) === "postgres") return new PrismaPg({ connectionString: url, max: 5 });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PrismaMssql } = require("@prisma/adapter-mssql");
  return new PrismaMssql(url);
}

const raterName = { rater: { select: { fullName: true } } } as const;

function ratingJson(r: { id: number; sellerId: number; raterId: number; rating: number; comment: string | null;
                         createdAt: Date; updatedAt: Date; rater: { fullName: string } }): RatingJson {
  const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
  return { id: r.id, sellerId: r.sellerId, raterId: r.raterId, raterName: r.rater.fullName, rating: r.rating,
           comment: r.comment, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}

function missingTable(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && ["P2021", "P2022"].includes(err.code);
}

export class PrismaStore implements Store {
  readonly prisma: PrismaClient;
  readonly dialect: Dialect;

  constructor(url: string) {
    this.dialect = dialectOf(url);
    this.prisma = new PrismaClient({ adapter: adapterFor(url) });
  }

  async status(): Promise<DatabaseState> {
    try {
      await this.prisma.$queryRaw`SELECT 1`;
    } catch {
      return "unreachable";
    }
    try {
      await this.prisma.sellerRating.findFirst({ select: { id: true } });
      await this.prisma.user.findFirst({ select: { totalRatings: true } });
      return "ok";
    } catch (err) {
      if (missingTable(err)) return "schema-missing";
      return "unreachable";
    }
  }

  async sellerSummary(sellerId: number, tx: Tx = this.prisma): Promise<SellerSummary | null> {
    const u = await tx.user.findUnique({ where: { id: sellerId } });
    if (!u) return null;
    return summary(u.id, u.fullName, u.sellerRating === null ? null : Number(u.sellerRating), u.totalRatings,
                   u.positiveRatings);
  }

  async listRatings(sellerId: number, limit: number, offset: number): Promise<RatingJson[]> {
    const rows = await this.prisma.sellerRating.findMany({
      where: { sellerId }, include: raterName, orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit, skip: offset,
    });
    return rows.map(ratingJson);
  }

  async eligibility(raterId: number, sellerId: number, tx: Tx = this.prisma): Promise<Eligibility> {
    if (!(await tx.user.findUnique({ where: { id: sellerId }, select: { id: true } }))) {
      return { canRate: false, reason: "seller-not-found" };
    }
    if (raterId === sellerId) return { canRate: false, reason: "cannot-rate-self" };
    if (!(await tx.user.findUnique({ where: { id: raterId }, select: { id: true } }))) {
      return { canRate: false, reason: "rater-not-found" };
    }
    const existing = await tx.sellerRating.findUnique({
      where: { sellerId_raterId: { sellerId, raterId } }, select: { id: true } });
    if (existing) return { canRate: false, reason: "already-rated", ratingId: existing.id };
    const orders = await tx.order.count({ where: { buyerId: raterId, sellerId, status: "completed" } });
    if (!orders) return { canRate: false, reason: "no-completed-order" };
    return { canRate: true, reason: "eligible" };
  }

  async createRating(raterId: number, sellerId: number, rating: number, comment: string | null) {
    return this.prisma.$transaction(async (tx) => {
      await this.lockSeller(tx, sellerId);   // concurrent ratings of one seller queue here
      const check = await this.eligibility(raterId, sellerId, tx);
      if (!check.canRate) throw refuse(check);
      const now = new Date();
      const created = await tx.sellerRating.create({
        data: { sellerId, raterId, rating, comment, createdAt: now, updatedAt: now }, include: raterName });
      const seller = await this.recompute(tx, sellerId);
      return { rating: ratingJson(created), seller };
    });
  }

  /** The seller's aggregate columns from its SellerRatings rows (never drift, phase 4 checks). */
  async recompute(tx: Tx, sellerId: number): Promise<SellerSummary> {
    const all = await tx.sellerRating.aggregate({ where: { sellerId }, _count: { _all: true }, _avg: { rating: true } });
    const positive = await tx.sellerRating.count({ where: { sellerId, rating: { gte: POSITIVE_FROM } } });
    const avg = all._avg.rating === null ? null : Math.round(Number(all._avg.rating) * 100) / 100;
    await tx.user.update({ where: { id: sellerId },
      data: { totalRatings: all._count._all, positiveRatings: positive, sellerRating: avg } });
    return (await this.sellerSummary(sellerId, tx))!;
  }

  private async lockSeller(tx: Tx, sellerId: number): Promise<void> {
    if (this.dialect === "postgres") {
      await tx.$queryRaw`SELECT "Id" FROM "Users" WHERE "Id" = ${sellerId} FOR UPDATE`;
    } else {
      await tx.$queryRaw`SELECT Id FROM Users WITH (UPDLOCK, ROWLOCK) WHERE Id = ${sellerId}`;
    }
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
  }
}

// What the API needs from the database, as an interface (src/db.ts implements it with Prisma;
// the tests use an in-memory one) and the rating rules that do not depend on the storage.

export type DatabaseState = "ok" | "schema-missing" | "unreachable";

export interface SellerSummary {
  sellerId: number;
  sellerName: string;
  averageRating: number | null;
  totalRatings: number;
  positiveRatings: number;
  positivePercentage: number | null;
}

export interface RatingJson {
  id: number;
  sellerId: number;
  raterId: number;
  raterName: string;
  rating: number;
  comment: string | null;
  createdAt: string;
  updatedAt: string;
}

export type Reason = "eligible" | "seller-not-found" | "cannot-rate-self" | "rater-not-found"
  | "already-rated" | "no-completed-order";

export interface Eligibility {
  canRate: boolean;
  reason: Reason;
  ratingId?: number;
}

export interface Store {
  status(): Promise<DatabaseState>;
  sellerSummary(sellerId: number): Promise<SellerSummary | null>;
  listRatings(sellerId: number, limit: number, offset: number): Promise<RatingJson[]>;
  eligibility(raterId: number, sellerId: number): Promise<Eligibility>;
  /** Insert the rating and recompute the seller's aggregates, in one transaction. */
  createRating(raterId: number, sellerId: number, rating: number, comment: string | null):
    Promise<{ rating: RatingJson; seller: SellerSummary }>;
  close(): Promise<void>;
}

export const POSITIVE_FROM = 4; // ratings of 4 and 5 count as positive

export class RatingError extends Error {
  constructor(public status: number, public code: string, message: string,
              public extra: Record<string, unknown> = {}) {
    super(message);
  }
}

export const REFUSAL: Record<Exclude<Reason, "eligible">, [number, string]> = {
  "seller-not-found": [404, "no such seller"],
  "cannot-rate-self": [403, "you cannot rate yourself"],
  "rater-not-found": [403, "the token's user does not exist"],
  "already-rated": [409, "you have already rated this seller"],
  "no-completed-order": [403, "you need a completed order with this seller first"],
};

export function refuse(check: Eligibility): RatingError {
  const [status, message] = REFUSAL[check.reason as Exclude<Reason, "eligible">];
  return new RatingError(status, check.reason, message, check.ratingId ? { ratingId: check.ratingId } : {});
}

export function summary(id: number, name: string, average: number | null, total: number,
                        positive: number): SellerSummary {
  return {
    sellerId: id, sellerName: name,
    averageRating: average === null ? null : Math.round(average * 100) / 100,
    totalRatings: total, positiveRatings: positive,
    positivePercentage: total ? Math.round((positive * 1000) / total) / 10 : null,
  };
}

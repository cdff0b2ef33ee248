// Bearer tokens: HS256 JWTs signed with JWT_SECRET whose `sub` is the user's id.
import jwt from "jsonwebtoken";

export class AuthError extends Error {}

export function userIdFromHeader(header: string | undefined, secret: string): number {
  if (!header) throw new AuthError("missing bearer token");
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw new AuthError("expected 'Authorization: Bearer <token>'");
  let claims: string | jwt.JwtPayload;
  try {
    claims = jwt.verify(match[1], secret, { algorithms: ["HS256"] });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw new AuthError("token expired");
    throw new AuthError(`invalid token: ${(err as Error).message}`);
  }
  const sub = typeof claims === "object" ? claims.sub : undefined;
  if (sub === undefined || !/^\d+$/.test(String(sub)) || Number(sub) < 1) {
    throw new AuthError("sub must be a user id");
  }
  return Number(sub);
}

export function mint(secret: string, userId: number, ttlSeconds = 3600): string {
  return jwt.sign({ sub: String(userId) }, secret, { algorithm: "HS256", expiresIn: ttlSeconds });
}

"""Bearer tokens: HS256 with JWT_SECRET, the user id in `sub`, `exp` enforced when present.

`python3 -m marketplace.jwtauth --env-file PATH --sub 7` mints a token, which is how the
runbook's "curl -H 'Authorization: Bearer $TOKEN'" smoke step gets one.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import jwt

# PyJWT warns on short HMAC keys through the warnings module, which would print on stderr
# once per process; config decides what to say about key length instead.
if hasattr(jwt, "InsecureKeyLengthWarning"):
    warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)


class AuthError(Exception):
    pass


def user_id_from_header(header: str | None, secret: str) -> int:
    if not header:
        raise AuthError("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("expected 'Authorization: Bearer <token>'")
    return user_id_from_token(token.strip(), secret)


def user_id_from_token(token: str, secret: str) -> int:
    try:
        # verify_sub off: PyJWT insists sub be a string, but issuers often put the numeric
        # user id there; we check it ourselves below.
        claims = jwt.decode(
            token, secret, algorithms=["HS256"],
            options={"require": ["sub"], "verify_sub": False},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    sub = claims.get("sub")
    if isinstance(sub, bool) or not isinstance(sub, (int, str)):
        raise AuthError("sub must be a user id")
    try:
        user_id = int(sub)
    except ValueError:
        raise AuthError("sub must be a user id") from None
    if user_id <= 0:
        raise AuthError("sub must be a user id")
    return user_id


def mint(secret: str, user_id: int, ttl_seconds: int | None = 3600, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict = {"sub": str(user_id), "iat": issued}
    if ttl_seconds is not None:
        claims["exp"] = issued + ttl_seconds
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> int:
    from . import envfile

    parser = argparse.ArgumentParser(prog="python3 -m marketplace.jwtauth", description="Mint a bearer token.")
    parser.add_argument("--env-file", help="env file holding JWT_SECRET")
    parser.add_argument("--sub", type=int, required=True, help="user id to put in the token")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until exp (default 3600)")
    args = parser.parse_args(argv)
    try:
        env = envfile.load(args.env_file)
    except envfile.EnvFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    secret = env.get("JWT_SECRET", "")
    if not secret.strip():
        print("error: JWT_SECRET: is required", file=sys.stderr)
        return 2
    print(mint(secret, args.sub, args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())

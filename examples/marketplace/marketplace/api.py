"""The rating API (the runbook's apps/api): python3 -m marketplace.api --env-file PATH."""

from __future__ import annotations

import sys
from typing import Callable

from . import boot, jwtauth, payloads, ratings
from .db import Database, Unreachable
from .httpkit import App, Request, Response, Router, error_response, json_response
from .metrics import CONTENT_TYPE
from .ratelimit import FixedWindowLimiter, write_limit

SELLER = "/api/v1/ratings/seller/:id"
CAN_RATE = "/api/v1/ratings/can-rate/:sellerId"
RATINGS = "/api/v1/ratings"
RATING = "/api/v1/ratings/:id"


class Api:
    def __init__(self, settings, database: Database, logger, metrics):
        self.settings = settings
        self.db = database
        self.logger = logger
        self.metrics = metrics
        window, most = settings.rate_window_ms, settings.rate_max_requests
        self.read_limiter = FixedWindowLimiter("read", window, most)
        self.create_limiter = FixedWindowLimiter("create", window, write_limit(most))

    def router(self) -> Router:
        r = Router()
        r.add("GET", "/health", self.health)
        r.add("GET", "/metrics", self.metrics_text)
        r.add("GET", SELLER, self._guard(self.read_limiter, self.seller_ratings))
        r.add("GET", CAN_RATE, self._guard(self.read_limiter, self.can_rate))
        r.add("POST", RATINGS, self._guard(self.create_limiter, self.create))
        r.add("PUT", RATING, self._guard(self.create_limiter, self.update))
        r.add("DELETE", RATING, self._guard(self.create_limiter, self.delete))
        for pattern in (SELLER, CAN_RATE, RATINGS, RATING):
            r.add("OPTIONS", pattern, self.preflight)
        return r

    # -- cross-cutting -----------------------------------------------------------------
    def _guard(self, limiter: FixedWindowLimiter, handler: Callable[[Request], Response]):
        """Rate limit, then authenticate, then require the migration, then run handler."""

        def guarded(request: Request) -> Response:
            decision = limiter.hit(request.client_ip)
            limit_headers = {
                "RateLimit-Limit": str(decision.limit),
                "RateLimit-Remaining": str(decision.remaining),
                "RateLimit-Reset": str(decision.retry_after),
            }
            if not decision.allowed:
                self.metrics.rate_limited.inc(limiter=limiter.name)
                response = error_response(429, "rate-limited", "too many requests, try again later")
                response.headers.update(limit_headers, **{"Retry-After": str(decision.retry_after)})
                return response
            response = self._authenticated(request, handler)
            response.headers.update(limit_headers)
            return response

        return guarded

    def _authenticated(self, request: Request, handler) -> Response:
        try:
            request.user_id = jwtauth.user_id_from_header(
                request.header("authorization"), self.settings.jwt_secret.reveal())
        except jwtauth.AuthError as exc:
            response = error_response(401, "unauthorized", str(exc))
            response.headers["WWW-Authenticate"] = 'Bearer realm="marketplace"'
            return response
        try:
            if not self.db.ratings_ready():
                return self._schema_missing()
            return handler(request)
        except payloads.BadInput as exc:
            return error_response(400, "bad-request", str(exc))
        except ratings.RatingError as exc:
            return error_response(exc.status, exc.code, exc.message, **exc.extra)
        except Unreachable:
            return error_response(503, "database-unavailable", "the database cannot be reached")
        except self.db.integrity_errors:
            # Only a concurrent duplicate gets past the locked eligibility check.
            return error_response(409, "already-rated", "you have already rated this seller")
        except self.db.errors:
            if not self.db.ratings_ready(refresh=True):
                return self._schema_missing()
            raise

    @staticmethod
    def _schema_missing() -> Response:
        return error_response(503, "schema-missing",
                              "the SellerRatings migration has not been applied to this database")

    def cors_headers(self, request: Request) -> dict[str, str]:
        if not request.path.startswith("/api/"):
            return {}
        headers = {"Access-Control-Allow-Origin": self.settings.cors_origin, "Vary": "Origin"}
        if request.method == "OPTIONS":
            headers.update({
                "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            })
        return headers

    # -- endpoints ---------------------------------------------------------------------
    def health(self, request: Request) -> Response:
        status, payload = boot.health_payload(self.settings, self.db.status())
        return json_response(status, payload, {"Cache-Control": "no-store"})

    def metrics_text(self, request: Request) -> Response:
        return Response(200, self.metrics.render().encode("utf-8"), CONTENT_TYPE)

    def preflight(self, request: Request) -> Response:
        return Response(204, b"", "text/plain")

    def seller_ratings(self, request: Request) -> Response:
        seller_id = payloads.parse_id(request.params["id"], "seller id")
        limit, offset = payloads.parse_page(request.query)
        with self.db.session() as s:
            seller = ratings.seller_summary(s, seller_id)
            if seller is None:
                return error_response(404, "seller-not-found", "no such seller")
            items = ratings.list_ratings(s, seller_id, limit, offset)
        return json_response(200, {"seller": seller, "ratings": items, "limit": limit, "offset": offset})

    def can_rate(self, request: Request) -> Response:
        seller_id = payloads.parse_id(request.params["sellerId"], "seller id")
        with self.db.session() as s:
            check = ratings.eligibility(s, request.user_id, seller_id)
        if check.reason == "seller-not-found":
            return error_response(404, "seller-not-found", "no such seller")
        body = {"canRate": check.can_rate, "reason": check.reason}
        if check.existing_rating_id is not None:
            body["ratingId"] = check.existing_rating_id
        return json_response(200, body)

    def create(self, request: Request) -> Response:
        seller_id, value, comment = payloads.new_rating(request.body)
        with self.db.session(write=True) as s:
            rating, seller = ratings.create(s, request.user_id, seller_id, value, comment)
        return json_response(201, {"rating": rating, "seller": seller})

    def update(self, request: Request) -> Response:
        rating_id = payloads.parse_id(request.params["id"], "rating id")
        changes = payloads.rating_changes(request.body)
        with self.db.session(write=True) as s:
            rating, seller = ratings.update(s, request.user_id, rating_id, changes)
        return json_response(200, {"rating": rating, "seller": seller})

    def delete(self, request: Request) -> Response:
        rating_id = payloads.parse_id(request.params["id"], "rating id")
        with self.db.session(write=True) as s:
            seller = ratings.delete(s, request.user_id, rating_id)
        return json_response(200, {"deleted": rating_id, "seller": seller})


def main(argv: list[str] | None = None) -> int:
    args = boot.arg_parser("api").parse_args(argv)
    settings = boot.load_settings("api", boot.load_env(args.env_file))
    logger, database, metrics = boot.runtime(settings)
    api = Api(settings, database, logger, metrics)
    app = App("api", api.router(), logger, metrics, settings.trust_proxy, api.cors_headers)
    return boot.serve(app, settings, logger, database)


if __name__ == "__main__":
    sys.exit(main())

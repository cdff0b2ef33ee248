"""The web front end (the runbook's apps/web) in SSR mode, and the flag file for static mode.

    python3 -m marketplace.web --env-file PATH                      # serve pages
    python3 -m marketplace.web --write-flag-json DIR --env-file PATH  # write DIR/flag.json

The rating UI appears only when ENABLE_RATING_FEATURE is true and the user falls inside
RATING_ROLLOUT_PERCENTAGE (see bucketing.py); otherwise the page renders as it did before.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from . import assets, boot, config, payloads, ratings, render
from .bucketing import feature_on
from .db import Database, Unreachable
from .httpkit import App, Request, Response, Router, html_response, json_response
from .metrics import CONTENT_TYPE


def flag_document(settings_flag: config.FlagSettings, api_base_url: str, version: str) -> dict:
    """What the static site reads to decide on the rating UI in the browser."""
    return {**settings_flag.as_json(), "apiBaseUrl": api_base_url, "version": version}


def write_flag_json(directory: str, env: dict[str, str]) -> Path:
    try:
        flag = config.load_flag(env)
    except config.ConfigError as exc:
        boot.fail(str(exc))
    document = flag_document(flag, env.get("API_BASE_URL", "").strip().rstrip("/"), config.read_version(env))
    target_dir = Path(directory)
    target_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a browser never fetches a half-written flag file.
    fd, tmp = tempfile.mkstemp(prefix=".flag.", dir=target_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    target = target_dir / "flag.json"
    os.replace(tmp, target)
    return target


class Web:
    def __init__(self, settings: config.Settings, database: Database, logger, metrics):
        self.settings = settings
        self.db = database
        self.logger = logger
        self.metrics = metrics

    def router(self) -> Router:
        r = Router()
        r.add("GET", "/health", self.health)
        r.add("GET", "/metrics", self.metrics_text)
        r.add("GET", "/flag.json", self.flag_json)
        r.add("GET", "/", self.index)
        r.add("GET", "/sellers/:id", self.seller)
        r.add("GET", "/static/app.js", self.app_js)
        r.add("GET", "/static/styles.css", self.styles)
        return r

    def health(self, request: Request) -> Response:
        status, payload = boot.health_payload(self.settings, self.db.status())
        return json_response(status, payload, {"Cache-Control": "no-store"})

    def metrics_text(self, request: Request) -> Response:
        return Response(200, self.metrics.render().encode("utf-8"), CONTENT_TYPE)

    def flag_json(self, request: Request) -> Response:
        return json_response(200, flag_document(self.settings.flag, self.settings.api_base_url,
                                                self.settings.version), {"Cache-Control": "no-store"})

    def app_js(self, request: Request) -> Response:
        return Response(200, assets.app_js().encode("utf-8"), "text/javascript; charset=utf-8")

    def styles(self, request: Request) -> Response:
        return Response(200, assets.styles_css().encode("utf-8"), "text/css; charset=utf-8")

    def index(self, request: Request) -> Response:
        return html_response(200, render.index_page(self.settings.version))

    def _message(self, status: int, title: str, text: str) -> Response:
        return html_response(status, render.message_page(title, text, self.settings.version))

    def seller(self, request: Request) -> Response:
        try:
            seller_id = payloads.parse_id(request.params["id"], "seller id")
        except payloads.BadInput as exc:
            return self._message(400, "Bad request", str(exc))
        user = request.query.get("user", "").strip() or None
        flag = self.settings.flag
        wanted = feature_on(flag, user)
        try:
            return self._seller_page(seller_id, user, wanted)
        except Unreachable:
            return self._message(503, "Unavailable", "The marketplace database cannot be reached.")

    def _seller_page(self, seller_id: int, user: str | None, wanted: bool) -> Response:
        ready = wanted and self.db.ratings_ready()
        with self.db.session() as s:
            base = s.one('SELECT "Id", "FullName", "CreatedAt" FROM "Users" WHERE "Id" = ?', (seller_id,))
            if base is None:
                return self._message(404, "Seller not found", f"There is no seller {seller_id}.")
            seller = {"sellerId": base[0], "sellerName": base[1], "memberSince": ratings.timestamp(base[2])}
            items = None
            if ready:
                seller.update(ratings.seller_summary(s, seller_id))
                items = ratings.list_ratings(s, seller_id, 20, 0)
        reason = self._reason(user, wanted, ready)
        html = render.seller_page(seller, ready, reason, items, self.settings.api_base_url, self.settings.version)
        return html_response(200, html)

    def _reason(self, user: str | None, wanted: bool, ready: bool) -> str:
        if ready:
            return "on"
        if not self.settings.flag.enabled:
            return "disabled"
        if user is None:
            return "no-user"
        return "schema-missing" if wanted else "not-in-rollout"


def main(argv: list[str] | None = None) -> int:
    parser = boot.arg_parser("web")
    parser.add_argument("--write-flag-json", metavar="DIR", help="write DIR/flag.json for the static site and exit")
    args = parser.parse_args(argv)
    env = boot.load_env(args.env_file)
    if args.write_flag_json:
        print(f"wrote {write_flag_json(args.write_flag_json, env)}")
        return 0
    settings = boot.load_settings("web", env)
    logger, database, metrics = boot.runtime(settings)
    web = Web(settings, database, logger, metrics)
    app = App("web", web.router(), logger, metrics, settings.trust_proxy)
    return boot.serve(app, settings, logger, database)


if __name__ == "__main__":
    sys.exit(main())

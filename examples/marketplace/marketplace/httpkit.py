"""The HTTP plumbing both processes share: routing by pattern, JSON/HTML responses,
per-request metrics and access log, and a server that stops cleanly on SIGTERM.

Routes are patterns like /api/v1/ratings/seller/:id; the pattern, never the raw path, is
what metrics and logs carry, so series stay few however many sellers there are.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 64 * 1024
UNMATCHED = "unmatched"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_ip: str
    params: dict[str, str] = field(default_factory=dict)
    route: str = UNMATCHED
    user_id: int | None = None  # set by the API once the bearer token checks out

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")
    return Response(status, body, headers=dict(headers or {}))


def error_response(status: int, code: str, message: str, **extra) -> Response:
    return json_response(status, {"error": code, "message": message, **extra})


def html_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), "text/html; charset=utf-8")


Handler = Callable[[Request], Response]


class Router:
    def __init__(self):
        self._routes: list[tuple[str, str, re.Pattern, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r":([A-Za-z_]+)", r"(?P<\1>[^/]+)", re.escape(pattern).replace(r"\:", ":"))
        self._routes.append((method, pattern, re.compile(f"^{regex}$"), handler))

    def match(self, method: str, path: str) -> tuple[str, Handler | None, dict[str, str], list[str]]:
        """(route pattern, handler or None, params, methods allowed on the path)."""
        allowed = []
        for route_method, pattern, regex, handler in self._routes:
            found = regex.match(path)
            if not found:
                continue
            if route_method == method:
                return pattern, handler, found.groupdict(), []
            allowed.append(route_method)
            matched_pattern = pattern
        if allowed:
            return matched_pattern, None, {}, allowed
        return UNMATCHED, None, {}, []


class App:
    """A router plus the cross-cutting work every request gets."""

    def __init__(self, name: str, router: Router, logger, metrics, trust_proxy: bool = False,
                 extra_headers: Callable[[Request], dict[str, str]] | None = None):
        self.name = name
        self.router = router
        self.logger = logger
        self.metrics = metrics
        self.trust_proxy = trust_proxy
        self.extra_headers = extra_headers

    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        route, handler, params, allowed = self.router.match(request.method, request.path)
        request.route, request.params = route, params
        try:
            if handler is not None:
                response = handler(request)
            elif allowed:
                response = error_response(405, "method-not-allowed", f"{request.method} is not allowed here")
                response.headers["Allow"] = ", ".join(sorted(set(allowed)))
            else:
                response = error_response(404, "not-found", "no such route")
        except Exception as exc:  # the last line of defence: log it, answer 500, keep serving
            self.logger.error("unhandled error", route=route, method=request.method,
                              error=f"{exc.__class__.__name__}: {exc}",
                              trace=traceback.format_exc(limit=8))
            response = error_response(500, "internal", "internal server error")
        if self.extra_headers:
            for key, value in self.extra_headers(request).items():
                response.headers.setdefault(key, value)
        elapsed = time.perf_counter() - started
        self.metrics.observe_request(route, request.method, response.status, elapsed)
        self.logger.info("request", method=request.method, path=request.path, route=route,
                         status=response.status, duration_ms=round(elapsed * 1000, 2),
                         ip=request.client_ip, user=request.user_id)
        return response


def _handler_class(app: App):
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"marketplace-{app.name}"
        timeout = 30  # an idle keep-alive connection gives its thread back after this

        def log_message(self, format, *args):  # noqa: A002 - the access log is JSON, in App
            pass

        def _serve(self, head_only: bool = False) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = headers.get("content-length", "0") or "0"
            if not length.isdigit():
                return self._write(error_response(400, "bad-request", "invalid Content-Length"), False)
            if int(length) > MAX_BODY:
                self.close_connection = True
                return self._write(error_response(413, "too-large", f"body over {MAX_BODY} bytes"), False)
            body = self.rfile.read(int(length)) if int(length) else b""
            ip = self.client_address[0]
            if app.trust_proxy and headers.get("x-forwarded-for"):
                ip = headers["x-forwarded-for"].split(",")[0].strip() or ip
            method = "GET" if head_only else self.command
            request = Request(method, parts.path or "/", query, headers, body, ip)
            self._write(app.handle(request), head_only)

        def _write(self, response: Response, head_only: bool) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if not head_only:
                self.wfile.write(response.body)

        def do_GET(self):
            self._serve()

        def do_HEAD(self):
            self._serve(head_only=True)

        def do_POST(self):
            self._serve()

        def do_PUT(self):
            self._serve()

        def do_DELETE(self):
            self._serve()

        def do_OPTIONS(self):
            self._serve()

    return RequestHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections under a burst (a load test, a
    # balancer's reconnect storm) long before the threads are busy.
    request_queue_size = 128


def serve(app: App, host: str, port: int, logger, on_stop: Callable[[], None] | None = None,
          announce: dict | None = None) -> int:
    """Serve until SIGTERM or SIGINT; return the process exit code."""
    server_cls = _Server
    if ":" in host:
        server_cls = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
    stopping = threading.Event()
    serving: list = []

    def stop(signum, _frame):
        if not stopping.is_set():
            stopping.set()
            logger.info("stopping", signal=signal.Signals(signum).name)
            # shutdown() waits for serve_forever, which runs on this very thread: hand it off.
            # (serve_forever returns at once when shutdown came first.)
            for server in serving:
                threading.Thread(target=server.shutdown, daemon=True).start()

    # before the socket listens: a SIGTERM from someone who saw the port open stops cleanly
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server = server_cls((host, port), _handler_class(app))
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    serving.append(server)
    if stopping.is_set():   # the signal came while the socket was being made
        threading.Thread(target=server.shutdown, daemon=True).start()
    bound_port = server.server_address[1]
    logger.info("listening", host=host, port=bound_port, **(announce or {}))
    try:
        # serve_forever sees shutdown() only between two selects: every poll_interval. A stop
        # (a release switch, a restart) waits that long after SIGTERM; 0.05 s keeps it short
        # and costs an idle server 20 wakeups a second.
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
        if on_stop:
            on_stop()
    logger.info("stopped")
    return 0

"""Debian's Prometheus and Alertmanager as test processes on 127.0.0.1 and free ports, and an
HTTP receiver standing in for Slack and PagerDuty (it records each POST with its arrival time).

    with Alertmanager(config_file, work) as am, Prometheus(config_file, work) as prom: ...

Both run with their storage in the test's folder, Alertmanager without clustering (no 0.0.0.0
listener), and no proxy settings inherited (all traffic is loopback).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.support import strict
from tests.support.ports import free_port

LOOPBACK = "127.0.0.1"


def wait_until(predicate, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:g}s")


def ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _no_proxy_env() -> dict:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


class _Process:
    program = ""
    package = ""

    def __init__(self, config: Path, work: Path):
        self.binary = strict.need_binary(self.program)
        self.config, self.work = config, work
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log = work / f"{self.program}.log"
        self.proc: subprocess.Popen | None = None

    def args(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([self.binary, *self.args()], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=_no_proxy_env(), cwd=self.work)
        try:
            wait_until(lambda: self.proc.poll() is not None or ready(f"{self.url}/-/ready"), 30, self.program)
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.program} exited: {self.log.read_text()[-2000:]}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Alertmanager(_Process):
    program = "prometheus-alertmanager"

    def args(self) -> list[str]:
        return [f"--config.file={self.config}", f"--storage.path={self.work / 'alertmanager'}",
                f"--web.listen-address={LOOPBACK}:{self.port}", "--cluster.listen-address=", "--log.level=warn"]

    def alerts(self) -> list[dict]:
        return requests.get(f"{self.url}/api/v2/alerts", timeout=5).json()


class Prometheus(_Process):
    program = "prometheus"

    def args(self) -> list[str]:
        return [f"--config.file={self.config}", f"--storage.tsdb.path={self.work / 'tsdb'}",
                f"--web.listen-address={LOOPBACK}:{self.port}", "--rules.alert.resend-delay=1s",
                "--log.level=warn"]

    def firing(self, alertname: str) -> list[dict]:
        doc = requests.get(f"{self.url}/api/v1/alerts", timeout=5).json()
        return [a for a in doc["data"]["alerts"] if a["labels"].get("alertname") == alertname
                and a["state"] == "firing"]


class Receiver:
    """Records every POSTed JSON body with time.monotonic() at arrival; answers 200."""

    def __init__(self, path: str):
        self.posts: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                with outer.lock:
                    outer.posts.append((time.monotonic(), {"path": self.path, "body": body}))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status":"success","message":"Event processed"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def received(self) -> list[tuple[float, dict]]:
        with self.lock:
            return list(self.posts)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Phase 0: the runbook's pre-deployment checklist, measured from real hosts, files and database.

Each section yields `Item`s (status pass/fail/warn/skip, a name, a reason). The task prints them
as a checklist; any `fail` makes the task exit 1.
"""

from __future__ import annotations

import posixpath
import shlex
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlparse

from deploy.releases import disk_room
from deploy import process
from deploy.releases.artifact import artifacts_dir
from deploy.config.environment import DatabaseConfig, Environment
from deploy.hosts.facts import HostFacts, facts_command, parse_facts
from deploy.hosts.fleet import Fleet, Host
from deploy.preflight.spec import SECTIONS, PreflightSpec, env_problems
from deploy.secrets import mask
from deploy.config.shipped import project_path


@dataclass(frozen=True)
class Item:
    section: str
    name: str
    status: str          # pass | fail | warn | skip
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def run_preflight(env: Environment, spec: PreflightSpec, only: set[str], skip: set[str],
                  progress: Callable[[str], None] = lambda _: None,
                  database: Callable[[], DatabaseConfig] | None = None) -> list[Item]:
    """Every section not left out; `database` gives the (possibly tunnelled) database config."""
    sections: dict[str, Callable[[], Iterator[Item]]] = {
        "env": lambda: check_env(env, spec),
        "commands": lambda: check_commands(env, spec, progress),
        "database": lambda: check_database(env, database or (lambda: env.database)),
        "migrations": lambda: check_migrations(env),
        "hosts": lambda: check_hosts(env, spec),
        "tls": lambda: check_tls(env, spec),
        "lb": lambda: check_lb(env),
    }
    items: list[Item] = []
    for name in SECTIONS:
        if (only and name not in only) or name in skip:
            continue
        progress(f"checking {name} ...")
        try:
            items.extend(sections[name]())
        except Exception as exc:  # one broken section must not hide the others
            items.append(Item(name, name, "fail", mask(str(exc)) or type(exc).__name__))
    return items


# -- 1. environment variables ---------------------------------------------------------------------
def check_env(env: Environment, spec: PreflightSpec) -> Iterator[Item]:
    for app, var, problem in env_problems(env, spec):
        if problem:
            yield Item("env", f"{app}: {var}", "fail", problem)
        elif var in env.app_env(app):
            yield Item("env", f"{app}: {var}", "pass", "set and valid")
        else:
            yield Item("env", f"{app}: {var}", "skip", "not set (optional)")


# -- 1/3. the apps' own test, typecheck and build commands -------------------------------------
def check_commands(env: Environment, spec: PreflightSpec, progress: Callable[[str], None]) -> Iterator[Item]:
    seen: set[tuple[str, str]] = set()
    for app_name, app in env.apps.items():
        for kind in spec.commands.run:
            line = getattr(app.commands, kind)
            if not line:
                yield Item("commands", f"{app_name}: {kind}", "skip", "no command configured")
                continue
            source = env.path(app.source)
            key = (str(source), line)
            if key in seen:  # api and web built from one source: run each command once
                yield Item("commands", f"{app_name}: {kind}", "pass", "same command as above")
                continue
            seen.add(key)
            progress(f"  {app_name}: {line}")
            yield _run_app_command(app_name, kind, line, source, spec.commands.timeout)


def _run_app_command(app: str, kind: str, line: str, source: Path, timeout: float) -> Item:
    started = time.monotonic()
    # a build writes into {out}: a throwaway folder here, the checklist only proves it builds
    with tempfile.TemporaryDirectory(prefix="preflight-build-") as out:
        argv = [word.replace("{out}", out) for word in shlex.split(line)]
        try:
            proc = subprocess.run(argv, cwd=source, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            return Item("commands", f"{app}: {kind}", "fail", f"`{line}`: {exc.strerror}: {exc.filename}")
        except subprocess.TimeoutExpired:
            return Item("commands", f"{app}: {kind}", "fail", f"`{line}` timed out after {timeout:g}s")
    return _command_item(app, kind, line, proc, time.monotonic() - started)


def _command_item(app: str, kind: str, line: str, proc: subprocess.CompletedProcess, took: float) -> Item:
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        return Item("commands", f"{app}: {kind}", "fail",
                    f"`{line}` exited {proc.returncode}: {mask(tail[-1]) if tail else 'no output'}")
    return Item("commands", f"{app}: {kind}", "pass", f"`{line}` ok in {took:.1f}s")


# -- 2. database --------------------------------------------------------------------------------
def check_database(env: Environment, database: Callable[[], DatabaseConfig]) -> Iterator[Item]:
    from deploy.db.connect import connect  # imported late: pyodbc loads only when needed

    started = time.monotonic()
    try:
        db = connect(database(), Path(env.root))
    except Exception as exc:
        yield Item("database", "database reachable", "fail", mask(str(exc)))
        return
    try:
        version = db.server_version()
        took = (time.monotonic() - started) * 1000
        yield Item("database", "database reachable", "pass",
                   f"{env.database.dialect} {version} ({took:.0f} ms)")
    finally:
        db.close()


def check_migrations(env: Environment) -> Iterator[Item]:
    from deploy.db.migrations import discover

    folder = project_path(env.root, "sql") / env.database.dialect
    try:
        found = discover(folder / "migrations")
    except Exception as exc:
        yield Item("migrations", "migration files", "fail", mask(str(exc)))
        return
    if not found:
        yield Item("migrations", "migration files", "fail", f"none in {folder / 'migrations'}")
        return
    for m in found:
        yield Item("migrations", m.filename, "pass", "named correctly, down file present")
    backfill = folder / "backfill-rating-aggregates.sql"
    yield Item("migrations", backfill.name, "pass" if backfill.is_file() else "fail",
               "present" if backfill.is_file() else f"missing: {backfill}")


# -- 4. infrastructure: every host --------------------------------------------------------------
def check_hosts(env: Environment, spec: PreflightSpec) -> Iterator[Item]:
    manager = process.for_environment(env)
    tools = [manager.binary, *manager.helpers]

    def gather(host: Host) -> tuple[HostFacts, float]:
        sent = time.time()
        res = host.run(facts_command(env.deploy_to, tools), timeout=30)
        received = time.time()
        facts = parse_facts(res.stdout, tools)
        return facts, clock_skew(facts.clock, sent, received)

    h = spec.hosts
    with Fleet(env) as fleet:
        result = fleet.run(gather, size=len(fleet.hosts) or 1, max_fail=len(fleet.hosts))
    for outcome in result.outcomes:
        name = outcome.host
        if not outcome.ok:
            yield Item("hosts", f"{name}: reachable", "fail", outcome.error or "failed")
            continue
        facts, skew = outcome.value
        yield Item("hosts", f"{name}: reachable", "pass", "facts gathered")
        yield _threshold("hosts", f"{name}: CPUs", facts.cpus, h.min_cpus, f"{facts.cpus} (min {h.min_cpus})")
        yield _threshold("hosts", f"{name}: free memory", facts.mem_available_mb, h.min_free_memory_mb,
                         f"{facts.mem_available_mb} MB available of {facts.mem_total_mb} MB "
                         f"(min {h.min_free_memory_mb:.0f})")
        yield _threshold("hosts", f"{name}: free disk", facts.disk_free_mb, h.min_free_disk_mb,
                         f"{facts.disk_free_mb} MB free on {facts.disk_mount} (min {h.min_free_disk_mb:.0f})")
        for app in apps_on(env, name):
            yield Item("hosts", *disk_room.preflight_item(
                name, app, facts.disk_free_bytes, facts.disk_mount,
                disk_room.last_artifact_size(artifacts_dir(env, app))))
        path = facts.tools.get(manager.binary)
        yield Item("hosts", f"{name}: {manager.name}", "pass" if path else "fail",
                   path or f"{manager.binary} not found on PATH")
        for helper in manager.helpers:
            found = facts.tools.get(helper)
            yield Item("hosts", f"{name}: {manager.name} needs {posixpath.basename(helper)}",
                       "pass" if found else "fail",
                       found or f"{helper} not found (restarts and stops run it beside {manager.binary})")
        yield clock_item(name, skew, h.max_clock_skew)


def apps_on(env: Environment, host: str) -> list[str]:
    """The apps a host runs (by role), in config order."""
    roles = next((set(h.roles) for h in env.hosts if h.name == host), set())
    return [name for name, app in env.apps.items() if app.role in roles]


def clock_skew(remote_clock: float, sent: float, received: float) -> float:
    """Seconds the host's clock is ahead (+) or behind (-) ours. The remote clock was read
    somewhere inside the round trip [sent, received]: compare it with the middle."""
    return remote_clock - (sent + received) / 2


def clock_item(host: str, skew: float, max_skew: float) -> Item:
    ok = abs(skew) <= max_skew
    return Item("hosts", f"{host}: clock skew", "pass" if ok else "fail", f"{skew:+.2f}s (max ±{max_skew:g}s)")


def _threshold(section: str, name: str, value: float, minimum: float, detail: str) -> Item:
    return Item(section, name, "pass" if value >= minimum else "fail", detail)


# -- 4. TLS certificate and load balancer ---------------------------------------------------
def check_tls(env: Environment, spec: PreflightSpec) -> Iterator[Item]:
    if not env.public_url:
        yield Item("tls", "TLS certificate", "skip", "no public_url configured")
        return
    url = urlparse(env.public_url)
    if url.scheme != "https":
        yield Item("tls", "TLS certificate", "fail", f"public_url {env.public_url} is not https")
        return
    try:
        days = certificate_days_left(url.hostname or "", url.port or 443)
    except (OSError, ssl.SSLError) as exc:
        yield Item("tls", "TLS certificate", "fail", f"{url.hostname}: {exc}")
        return
    need = spec.tls.min_days_valid
    yield Item("tls", "TLS certificate", "pass" if days >= need else "fail",
               f"{url.hostname}: valid for {days} more days (min {need})")


def certificate_days_left(hostname: str, port: int, timeout: float = 10) -> int:
    context = ssl.create_default_context()
    with socket.create_connection((hostname, port), timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=hostname) as tls:
            cert = tls.getpeercert()
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), tz=timezone.utc)
    return (expires - datetime.now(timezone.utc)).days


def check_lb(env: Environment) -> Iterator[Item]:
    if not env.load_balancer:
        yield Item("lb", "load balancer admin", "skip", "no load_balancer configured")
        return
    host, _, port = env.load_balancer.rpartition(":")
    try:
        info = haproxy_info(host, int(port))
    except (OSError, ValueError) as exc:
        yield Item("lb", "load balancer admin", "fail", f"{env.load_balancer}: {exc}")
        return
    yield Item("lb", "load balancer admin", "pass",
               f"{env.load_balancer}: {info.get('Name', '?')} {info.get('Version', '')}".rstrip())


def haproxy_info(host: str, port: int, timeout: float = 5) -> dict[str, str]:
    """`show info` over HAProxy's runtime API (a stats socket bound to TCP)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"show info\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    info = dict(line.split(": ", 1) for line in b"".join(chunks).decode().splitlines() if ": " in line)
    if "Name" not in info:
        raise ValueError("answered, but not as HAProxy's runtime API")
    return info


def summary(items: list[Item]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "warn": 0, "skip": 0}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return counts


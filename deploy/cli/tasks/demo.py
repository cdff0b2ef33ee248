"""The demo: the main job, end to end, on the embedded local environment."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from invoke import task
from invoke.exceptions import Exit

from deploy.cli.task import ContractTask
from deploy.lazy import lazy

# loaded when the demo runs: --list and --help stay light (deploy/lazy.py)
requests = lazy("requests")
config = lazy("deploy.config.environment")
db_connect = lazy("deploy.db.connect")
claims = lazy("deploy.demo.claims")
demo_reuse = lazy("deploy.demo.reuse")
preflight_spec = lazy("deploy.preflight.spec")
alerts_spec = lazy("deploy.monitoring.alerts_spec")
rollout_traffic = lazy("deploy.demo.rollout_traffic")
traffic = lazy("deploy.demo.traffic")

DEMO_USERS, DEMO_ORDERS, DEMO_RATINGS = 300, 900, 60


@dataclass
class Observed:
    """What one demo run saw that a later step's claim depends on."""

    burst: int = 0          # ratings the demo's traffic created in this run


OBSERVED = Observed()


def _claims_hold(problems: list[str], claim: str) -> int:
    """0 when the step's claim holds; else each problem on stderr and 1."""
    for problem in problems:
        print(f"claim does not hold ({claim}): {problem}", file=sys.stderr, flush=True)
    return 1 if problems else 0


def _invoke(*args: str) -> Callable[[str], int]:
    """A step that runs `invoke ARGS --env ENV`; anything but exit 0 stops the demo."""
    def step(env: str) -> int:
        line = ["invoke", *args, "--env", env]
        print(f"$ {shlex.join(line)}", flush=True)
        return subprocess.call([sys.executable, "-m", "invoke", *args, "--env", env],
                               env={**os.environ, "DEPLOY_ENV": env})
    return step


def seed_database(env_name: str) -> int:
    """The marketplace as it is before the rollout: users and orders, no rating schema."""
    env = config.load(env_name)
    if env.database.dialect != "sqlite":
        print("not sqlite: using the environment's existing database as it is")
        return 0
    path = env.path(env.database.path)
    if path.exists():
        with db_connect.connect(env.database, Path(env.root)) as db:
            if db_connect.has_table(db, "Users"):
                print(f"{path} holds the marketplace: keeping it (delete .work/ to start over)")
                return 0
        path.unlink()          # an empty file (not the marketplace): make it anew
    source = env.path(env.apps["api"].source)
    line = [sys.executable, "-m", "marketplace.sample", "--database-url", f"sqlite:///{path}",
            "--users", str(DEMO_USERS), "--orders", str(DEMO_ORDERS), "--create-schema"]
    print(f"$ (cd {source.relative_to(env.root)} && python3 -m marketplace.sample --database-url "
          f"sqlite:///{path} --users {DEMO_USERS} --orders {DEMO_ORDERS} --create-schema)", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.call(line, cwd=source)


def preflight(env_name: str) -> int:
    """`invoke checks.preflight`; on a re-run whose apps' commands already passed in an earlier demo
    run on byte-for-byte the same sources, command lines and interpreter, with `--skip commands`
    (said so): the second run of an unchanged demo re-proves the pipeline, not the app's tests."""
    env = config.load(env_name)
    kinds = preflight_spec.load_spec(Path(env.root)).commands.run
    lines = [(f"{name}: {kind}", getattr(app.commands, kind) or "") for name, app in env.apps.items()
             for kind in kinds]
    digest = demo_reuse.commands_digest(lines, [env.path(app.source) for app in env.apps.values()])
    record = env.path(env.work_dir) / "demo-commands-passed"
    if demo_reuse.may_skip(record, digest):
        print(f"the apps' {', '.join(kinds)} commands passed in an earlier demo run on exactly these sources, "
              f"command lines and interpreter (sha256 {digest[:12]}; {record.name} under {env.work_dir}): "
              "not run again", flush=True)
        return _invoke("checks.preflight", "--skip", "commands")(env_name)
    code = _invoke("checks.preflight")(env_name)
    if code == 0:
        demo_reuse.remember(record, digest)
    return code


def app_traffic(env_name: str) -> int:
    """Buyers rate their sellers through the API that phase 2 deployed (real HTTP, real JWTs)."""
    env = config.load(env_name)
    app = env.apps["api"]
    host = env.hosts_with(app.role)[0]
    base = f"http://{app.env.get('HOST') or host.address or '127.0.0.1'}:{app.port}"
    try:
        health = requests.get(f"{base}/health", timeout=5).json()
    except (requests.RequestException, ValueError) as exc:
        print(f"the deployed API does not answer at {base}/health: {exc}", file=sys.stderr)
        return 1
    print(f"API {base}: version {health.get('version')}, database {health.get('database')}")
    with db_connect.connect(env.database, Path(env.root)) as db:
        pairs = traffic.buyer_seller_pairs(db, DEMO_RATINGS)
    report = traffic.rate_sellers(base, env.env["JWT_SECRET"], pairs, deadline=60)
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(report.statuses.items()))
    print(f"{report.requests} requests in {report.seconds:.1f}s ({statuses}); "
          f"{report.ratings_created} ratings created"
          + (f", {sum(report.refusals.values())} already rated" if report.refusals else ""))
    OBSERVED.burst = report.ratings_created
    return _claims_hold(claims.traffic_problems(report, len(pairs)), "buyers rate their sellers")


def abuse_alert(env_name: str) -> int:
    """`monitor.alerts` against the live API: the abuse rule must fire on the demo's burst of
    ratings, and nothing else may fire."""
    args = ["monitor.alerts", "--window", "2s", "--env", env_name, "--json"]
    print(f"$ {shlex.join(['invoke', *args])}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "invoke", *args], env={**os.environ, "DEPLOY_ENV": env_name},
                          stdout=subprocess.PIPE, text=True)
    try:
        alerts = json.loads(proc.stdout)["alerts"]
    except (ValueError, KeyError, TypeError):
        print(f"monitor.alerts printed no alert list (exit {proc.returncode}): {proc.stdout[-500:]}",
              file=sys.stderr)
        return 1
    for a in alerts:
        print(f"  {a['rule']:<14} {a['subject']:<10} {a['state'].upper() if a['fired'] else a['state']:<11} "
              f"{a['message']}", flush=True)
    min_ratings = alerts_spec.load(Path(config.load(env_name).root)).rating_spike.min_ratings
    problems = claims.alert_problems(proc.returncode, alerts, OBSERVED.burst, min_ratings)
    if not problems and proc.returncode == 1:
        print(f"(exit 1, as expected: {claims.ABUSE_RULE} fired - the demo's burst of ratings against an empty "
              "history is the kind of spike the abuse rule exists for)", flush=True)
    return _claims_hold(problems, "the abuse rule fires on the demo's burst, nothing else fires")


def serve_users(env_name: str) -> int:
    """Users at the current stage: API reads, seller pages, who sees the rating UI."""
    return rollout_traffic.serve_users(env_name)


# Every phase implemented so far, in the order the runbook runs them. Invoke steps are the very
# command a person or a CI job would type, so the demo also proves the exit codes.
STEPS: list[tuple[str, Callable[[str], int]]] = [
    ("The marketplace before the rollout (stand-in database: users and orders)", seed_database),
    ("Phase 0: pre-deployment checklist", preflight),
    ("Phase 1: database migration (verified backup, migrate, verify, client hook)", _invoke("deploy.phase1")),
    ("Phase 2: API release (artifact, atomic switch, restart, health gate, smoke checks)",
     _invoke("deploy.phase2")),
    ("The rating API in use: buyers rate sellers", app_traffic),
    ("Phase 3: the web release, then the rating feature for 10% of users (soak, metrics gate before and after)",
     _invoke("deploy.phase3", "--rollout", "10")),
    ("Users at 10%: API reads, seller pages, who sees the rating UI", serve_users),
    ("Phase 3: 25% of users", _invoke("deploy.phase3", "--rollout", "25")),
    ("Users at 25%", serve_users),
    ("Phase 3: 50% of users", _invoke("deploy.phase3", "--rollout", "50")),
    ("Users at 50%", serve_users),
    ("Phase 3: 100% of users", _invoke("deploy.phase3", "--rollout", "100")),
    ("Users at 100%", serve_users),
    ("Sticky bucketing: where user 42 falls", _invoke("rollout.explain", "--user", "42")),
    ("Phase 4: backfill the aggregates and prove zero discrepancies", _invoke("deploy.phase4")),
    ("Monitoring: stored aggregates against actual ratings", _invoke("monitor.verify")),
    ("Monitoring: engagement metrics for the demo's traffic", _invoke("monitor.metrics", "--days", "7")),
    ("Monitoring: the runbook's alert rules against the live API", abuse_alert),
    ("Success criteria (30-day goals) and the HTML report",
     _invoke("monitor.report", "--html", ".work/local/report.html")),
    ("Releases on each host", _invoke("deploy.releases")),
    ("The journal", _invoke("deploy.history", "--limit", "15")),
    ("Where things stand", _invoke("status")),
]


@task(klass=ContractTask, help={"env": "environment to run on (default: local; the demo is meant for local)"})
def demo(c, env="local"):
    """Run every phase implemented so far, end to end, on the local environment."""
    started = time.monotonic()
    OBSERVED.burst = 0
    for number, (title, step) in enumerate(STEPS, 1):
        print(f"\n=== {number}. {title}", flush=True)
        code = step(env)
        if code != 0:
            print(f"\ndemo stopped at step {number} ({title}): exit {code}", file=sys.stderr)
            raise Exit(code=code)
    print(f"\ndemo complete in {time.monotonic() - started:.1f}s", flush=True)

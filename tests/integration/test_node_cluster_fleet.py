"""The runbook's real stack on the fleet: examples/marketplace-node (built with `npm run build`:
prisma generate + tsc) deployed by `invoke deploy.phase2` to 2 sshd hosts, each running it under
a real pm2 in cluster mode with 4 instances, against a real PostgreSQL (migrated by the
pipeline's SQL, reached through Prisma's pg driver adapter); then rollback.backend.

The artifact is built once per module by the pipeline's own artifact step (the app's build
command in its source folder, packed); each deploy passes it with --artifact, as CI would, and
gets a new release id (and VERSION)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import inspect
import io
import json
import re
import shutil
import tarfile
import threading
import time
from pathlib import Path

import pytest

from deploy.releases import artifact
from deploy.config import environment as config
from deploy.db import migrate
from deploy.db.connect import connect
from deploy.process.pm2 import Pm2, parse_workers
from tests.integration.test_phase2_support import FAST_SMOKE, PM2, Project, need_process_manager
from tests.support import cpu_cost
from tests.support.envs import fleet_environment, make_root
from tests.support.node_app import build_env, built_once, derived_once, source_copy
from tests.support.postgres import BASE_SCHEMA, SQL_ROOT, _postgres_target

SECRET_VAR = "TEST_JWT_SECRET"
PM2_HOME = "/run/pm2"
INSTANCES = 4


@pytest.fixture(scope="module")
def node_tarball(tmp_path_factory):
    """The Node API's release artifact, built by deploy.releases.artifact.prepare (npm run build) once for
    the whole run (tests/support/node_app.built_once)."""
    need_process_manager("pm2")

    def build() -> Path:
        source = source_copy("fleet")
        root = tmp_path_factory.mktemp("node-build")
        env = {"hosts": [{"name": "builder", "transport": "local"}],
               "database": {"dialect": "sqlite", "path": "db.sqlite"},
               "apps": {"api": {"process": "marketplace-api", "role": "api", "source": str(source),
                                "start": "node dist/index.js", "port": 3000, "commands": {"build": "npm run build"}}}}
        make_root(root, "build", env)
        started = time.monotonic()
        try:
            with pytest.MonkeyPatch.context() as mp:
                for key, value in build_env().items():
                    mp.setenv(key, value)
                built = artifact.prepare(config.load("build", root=root), "api", None)
            print(f"node artifact: {built.manifest.size / 1e6:.0f} MB in {time.monotonic() - started:.0f}s")
            assert (source / "dist" / "index.js").is_file()
            return built.path
        finally:
            shutil.rmtree(source, ignore_errors=True)

    return built_once(build)


@pytest.fixture
def app_database(request, tmp_path):
    """A fresh PostgreSQL database: base schema, the pipeline's migrations, a seller (1) with a
    completed order from a buyer (2). -> (postgresql:// URL, cluster, name)."""
    return make_database(request, tmp_path, migrated=True)


def make_database(request, tmp_path, migrated: bool):
    db_config, _ = _postgres_target(request, tmp_path)
    db = connect(db_config, tmp_path)
    try:
        db.script(BASE_SCHEMA["postgres"])
        if migrated:
            migrate.apply(db, SQL_ROOT, actor="fixture")
    finally:
        db.close()
    cluster = request.getfixturevalue("postgres")
    cluster.psql("INSERT INTO \"Users\" (\"FullName\", \"Email\") VALUES ('Seller One', 's1@x'), ('Buyer Two', 'b2@x');"
                 "INSERT INTO \"Orders\" (\"BuyerId\", \"SellerId\", \"Status\") VALUES (2, 1, 'completed')",
                 dbname=db_config.name)
    url = f"postgresql://{cluster.user}:{cluster.password}@127.0.0.1:{cluster.port}/{db_config.name}"
    return url, cluster, db_config.name


class NodeProject(Project):
    """phase 2's Project; each task it runs prints its wall time (and CPU, when measured)."""

    def invoke(self, *args: str, **kw):
        started, cpu = time.monotonic(), cpu_cost.cpu_seconds()
        proc = super().invoke(*args, **kw)
        if kw.get("wait", True):
            print(cpu_cost.timed(f"node: {' '.join(args[:2])}: exit {proc.returncode}", started, cpu))
        return proc


def node_project(tmp_path: Path, fleet, database_url: str, exec_mode: str = "cluster",
                 instances: int = INSTANCES) -> Project:
    port = 3600 + (abs(hash(tmp_path.name)) % 300)
    environment = fleet_environment(fleet, roles=("api",), batches={"size": 1, "max_fail": 0})
    environment["env"].update(DATABASE_URL=database_url, JWT_SECRET="${%s}" % SECRET_VAR, NODE_ENV="production",
                              ENABLE_RATING_FEATURE="true", RATING_ROLLOUT_PERCENTAGE="10")
    environment["secrets"] = [SECRET_VAR]
    environment["keep_releases"] = 3
    environment["process"] = {"manager": "pm2", "pm2_bin": str(PM2), "pm2_home": PM2_HOME}
    environment["apps"] = {"api": {
        "process": "marketplace-api", "role": "api", "source": str(tmp_path),
        "start": "node dist/index.js --env-file {env_file}", "port": port,
        "pm2": {"instances": instances, "exec_mode": exec_mode, "max_memory_restart": "1G",
                "log_date_format": "YYYY-MM-DD HH:mm:ss Z", "error_file": "api-error.log",
                "out_file": "api-out.log"},
    }}
    root = make_root(tmp_path / "project", "fleet", environment)
    (root / "checks" / "smoke.yaml").write_text(FAST_SMOKE.replace("deadline: 8s", "deadline: 40s"))
    (root / "db.sqlite").touch()   # the journal's database
    return NodeProject(root, fleet, "pm2", port)


def workers(host) -> list:
    out = host.run(Pm2(str(PM2), PM2_HOME).workers_command().render(), check=False).stdout
    return [w for w in parse_workers(out) if w.name == "marketplace-api"]


class Load:
    """Bounded load on one host's port (no load balancer): sequential GET /health, each with a
    10 s timeout, about 25 a second, at most 4000, until stopped. Counts answers by outcome. A
    refused or reset connection fails at once; the timeout only separates a request never answered
    from a slow one: at 2 s, one /health answered late while the 2-core machine ran the rest of the
    suite (load 12; that deploy took 52 s) counted as dropped."""

    def __init__(self, address: str, port: int):
        self.address, self.port = address, port
        self.ok = 0
        self.failed: list[str] = []
        self.versions: set[str] = set()
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Load":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        for _ in range(4000):
            if self._stop.is_set():
                return
            conn = http.client.HTTPConnection(self.address, self.port, timeout=10)
            sent = time.monotonic()
            try:
                conn.request("GET", "/health")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200:
                    self.ok += 1
                    self.versions.add(json.loads(body)["version"])
                else:
                    self.failed.append(f"HTTP {resp.status}")
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.failed.append(type(exc).__name__)
            finally:
                conn.close()
                self.slowest = max(self.slowest, time.monotonic() - sent)
            time.sleep(0.04)


@pytest.mark.long
def test_node_api_under_pm2_cluster_on_two_hosts_then_rolled_back(tmp_path, fleet_factory, node_tarball,
                                                                 app_database):
    fleet = fleet_factory(2)
    try:
        url, _, _ = app_database
        project = node_project(tmp_path, fleet, url)
        project.extra_env = {SECRET_VAR: "test-jwt-secret-" + "z" * 32, **build_env()}
        hosts = fleet.hosts

        started = time.monotonic()
        first, doc1 = project.deploy("--artifact", str(node_tarball), timeout=600)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        print(f"first cluster deploy: {time.monotonic() - started:.0f}s")
        v1 = doc1["release"]
        for host in hosts:
            running = workers(host)
            assert len(running) == INSTANCES and {w.status for w in running} == {"online"}
            assert {w.exec_mode for w in running} == {"cluster"}
            assert {w.cwd for w in running} == {f"/srv/marketplace/api/releases/{v1}"}
        assert all("4/4 workers online" in h["health"]["reason"] for h in doc1["hosts"])
        assert {s["name"]: s["ok"] for s in doc1["smoke"]} == {
            "health": True, "ratings need a token": True, "can-rate with a token": True}
        health = project.health(hosts[0])
        assert health["version"] == v1 and health["database"] == "ok"
        assert health["flag"] == {"enabled": True, "percentage": 10, "name": "rating"}

        # the second release under load on one host's port, no load balancer in front
        before = {h.name: {w.pid for w in workers(h)} for h in hosts}
        started = time.monotonic()
        with Load(hosts[0].address, project.port) as load:
            time.sleep(1)
            second, doc2 = project.deploy("--artifact", str(node_tarball), timeout=600)
            time.sleep(1)
        print(f"second cluster deploy: {time.monotonic() - started:.0f}s; load on {hosts[0].name}: "
              f"{load.ok} ok, {len(load.failed)} failed, slowest {load.slowest:.2f}s")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        v2 = doc2["release"]
        assert v2 != v1
        for host in hosts:
            running = workers(host)
            assert len(running) == INSTANCES and {w.status for w in running} == {"online"}
            assert {w.cwd for w in running} == {f"/srv/marketplace/api/releases/{v2}"}
            assert not {w.pid for w in running} & before[host.name]      # every worker replaced
        assert load.ok > 50 and load.failed == [], load.failed[:10]
        assert load.versions == {v1, v2}                                   # served through the reload
        assert project.versions() == [v2, v2]

        status = project.invoke("status", "--json")
        assert status.returncode == 0, status.stderr
        rows = json.loads(status.stdout)["hosts"]
        assert [r["apps"]["api"]["detail"].split(",")[0] for r in rows] == ["4/4 online"] * 2
        assert {r["apps"]["api"]["state"] for r in rows} == {"running"}

        back = project.invoke("rollback.backend", "--json", timeout=300)
        assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
        for host in hosts:
            running = workers(host)
            assert len(running) == INSTANCES and {w.status for w in running} == {"online"}
            assert {w.cwd for w in running} == {f"/srv/marketplace/api/releases/{v1}"}
        assert project.versions() == [v1, v1]
        # pm2 writes the configured log files, with the configured date format
        log = hosts[0].run("cat /srv/marketplace/api/shared/logs/api-out.log").stdout
        logs = project.invoke("logs", "--lines", "40")
        assert logs.returncode == 0, logs.stderr
        for host in hosts:   # pm2 logs reads the cluster's files: every worker's start, per host
            assert len(re.findall(rf'^{host.name}.*"msg":"listening"', logs.stdout, re.M)) >= INSTANCES, logs.stdout
        stamped = re.findall(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d: \{"msg":"listening"', log, re.M)
        assert len(stamped) >= 3 * INSTANCES, log[-2000:]      # 3 starts of 4 workers
    finally:
        fleet.stop()


def test_fork_mode_drops_requests_during_the_same_redeploy(tmp_path, fleet_factory, node_tarball, app_database):
    """The comparison: one process (pm2 fork mode) is stopped and started again, so the same
    bounded load on its port meets refused or failed connections while the new one boots."""
    fleet = fleet_factory(1)
    try:
        project = node_project(tmp_path, fleet, app_database[0], exec_mode="fork", instances=1)
        project.extra_env = {SECRET_VAR: "test-jwt-secret-" + "z" * 32}
        first, _ = project.deploy("--artifact", str(node_tarball), timeout=600)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        (host,) = fleet.hosts
        assert [(w.exec_mode, w.status) for w in workers(host)] == [("fork", "online")]
        with Load(host.address, project.port) as load:
            time.sleep(1)
            second, doc2 = project.deploy("--artifact", str(node_tarball), timeout=600)
            time.sleep(1)
        print(f"fork-mode redeploy: load {load.ok} ok, {len(load.failed)} failed ({sorted(set(load.failed))})")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        assert project.versions() == [doc2["release"]]
        assert load.ok > 20 and len(load.failed) > 0
    finally:
        fleet.stop()


CRASH_AT_BOOT = ('if (process.env.NODE_APP_INSTANCE === "3") { throw new Error("worker 3 cannot start: '
                 'planted by the test"); }\n')


def with_crash_at_boot(tarball: Path, dest: Path) -> Path:
    """A copy of the artifact whose dist/index.js starts with CRASH_AT_BOOT, streamed member by
    member (unpacking its 13,000 files and packing them again at gzip -6 costs ~28 CPU-s, this ~10)."""
    planted = 0
    with tarfile.open(tarball, "r|gz") as src, open(dest, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as out:
        for member in src:
            data = src.extractfile(member) if member.isfile() else None
            if member.name.removeprefix("./") == "dist/index.js":
                text = CRASH_AT_BOOT.encode() + data.read()
                member.size, data = len(text), io.BytesIO(text)
                planted += 1
            out.addfile(member, data)
    assert planted == 1, f"{tarball} has no dist/index.js"
    return dest


# what makes the crashing copy: it is kept beside the artifact under this name (node_app.derived_once)
CRASH_KEY = hashlib.sha256((CRASH_AT_BOOT + inspect.getsource(with_crash_at_boot)).encode()).hexdigest()[:16]


def test_a_worker_that_crashes_at_boot_fails_the_gate_and_the_host_goes_back(tmp_path, fleet_factory,
                                                                             node_tarball, app_database):
    fleet = fleet_factory(1)
    try:
        project = node_project(tmp_path, fleet, app_database[0])
        project.extra_env = {SECRET_VAR: "test-jwt-secret-" + "z" * 32}
        first, doc1 = project.deploy("--artifact", str(node_tarball), timeout=600)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        v1 = doc1["release"]
        (host,) = fleet.hosts
        before = {w.pid for w in workers(host)}

        # the same build, with a dist/index.js whose fourth worker exits at boot (made once per build)
        crashing = derived_once(node_tarball, f"crash-at-boot-{CRASH_KEY}.tar.gz",
                                lambda dest: with_crash_at_boot(node_tarball, dest))
        bad, doc = project.deploy("--artifact", str(crashing), timeout=600)
        assert bad.returncode == 1, bad.stdout[-3000:] + bad.stderr[-3000:]
        assert "health gate" in doc["error"] and "worker 3" in doc["error"], doc["error"]
        assert "restarts" in doc["error"] and "crashes at boot?" in doc["error"]    # pm2 restarted it
        [gate] = [h["health"] for h in doc["hosts"]]
        assert gate["seconds"] < 30, gate     # a crash loop (or pm2 giving up) ends the gate before its 40 s
        assert [u["ok"] for u in doc["undo"]] and all(u["ok"] for u in doc["undo"])
        running = workers(host)
        assert len(running) == INSTANCES and {w.status for w in running} == {"online"}
        assert {w.cwd for w in running} == {f"/srv/marketplace/api/releases/{v1}"}
        assert not {w.pid for w in running} & before            # restarted back onto v1, all four
        assert project.versions() == [v1]
        assert project.current(host) == v1
    finally:
        fleet.stop()


# the node projects' gate deadline (40s: 4 cluster workers boot on a loaded 2-core machine), health check only
HEALTH_ONLY = (FAST_SMOKE.replace("deadline: 8s", "deadline: 40s").split("\nchecks:")[0]
               + "\nchecks:\n  - {name: health, path: /health, expect: 200}\n")


def test_phase1_migrates_then_runs_prisma_generate_on_the_api_hosts(request, tmp_path, fleet_factory,
                                                                     node_tarball):
    """The runbook's step 1.3 for real: after the migration, `npx prisma generate` in the API's
    current release on each API host (offline: the schema engine path is set, never run)."""
    fleet = fleet_factory(1)
    try:
        url, cluster, name = make_database(request, tmp_path, migrated=False)
        # one cluster worker: the hook and the table it makes visible are this test's subject (4 workers'
        # boots are the first test's)
        project = node_project(tmp_path, fleet, url, instances=1)
        project.extra_env = {SECRET_VAR: "test-jwt-secret-" + "z" * 32}
        (project.root / "checks" / "smoke.yaml").write_text(HEALTH_ONLY)   # no ratings table yet
        project.set_environment(
            database={"dialect": "postgres", "name": name, "odbc": cluster.odbc_for(name),
                      "backups": {"dir": "backups", "keep": 3}},
            hooks={"post_migrate": [{"run": "PRISMA_SCHEMA_ENGINE_BINARY=/bin/true CHECKPOINT_DISABLE=1 "
                                            "npx prisma generate", "where": "api", "app": "api"}]})
        deployed, _ = project.deploy("--artifact", str(node_tarball), timeout=600)
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
        (host,) = fleet.hosts
        generated = "/srv/marketplace/api/current/src/generated/prisma/client.ts"
        host.run("rm -rf /srv/marketplace/api/current/src/generated")
        assert project.health(host)["database"] == "schema-missing"

        phase1 = project.invoke("deploy.phase1", "--json", timeout=600)
        assert phase1.returncode == 0, phase1.stdout[-3000:] + phase1.stderr[-3000:]
        doc = json.loads(phase1.stdout)
        assert [h["ok"] for h in doc["hooks"]] == [True]
        assert host.run(f"test -s {generated} && echo yes").stdout.strip() == "yes"
        assert project.health(host)["database"] == "ok"          # the running workers see the table
    finally:
        fleet.stop()

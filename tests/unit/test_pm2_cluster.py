"""pm2 cluster mode: the app's pm2 settings (config), the ecosystem file, the reload commands,
`pm2 jlist` of a real 4-worker cluster (fixtures captured from pm2 5 on node 20, the processes'
environment removed), and the worker gate's decisions."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.config.environment import Pm2App
from deploy.gates.health import GateResult, HealthPolicy
from deploy.process import Pm2
from deploy.process.base import Program
from deploy.process.pm2 import CWD_MARK, parse_workers
from deploy.engine.workers import release_of, stable, wait_workers, worker_verdict
from tests.unit.test_config import error_of, load

FIXTURES = Path(__file__).parent / "fixtures" / "pm2"
CLUSTER = Pm2App(instances=4, exec_mode="cluster", max_memory_restart="1G",
                 log_date_format="YYYY-MM-DD HH:mm:ss Z", error_file="api-error.log", out_file="/var/log/api.out")
PROGRAM = Program(
    app="api", process="marketplace-api",
    command="node --enable-source-maps dist/index.js --env-file /srv/marketplace/api/shared/api.env",
    directory="/srv/marketplace/api/current", env_file="/srv/marketplace/api/shared/api.env",
    log_dir="/srv/marketplace/api/shared/logs", shared_dir="/srv/marketplace/api/shared",
    pm2=CLUSTER, error_file=CLUSTER.error_file, out_file=CLUSTER.out_file)
PM2 = Pm2("/opt/node/bin/pm2", "/run/pm2")
ENV = """
    hosts:
      - {name: h1, transport: local, roles: [api]}
    database: {dialect: sqlite, path: db.sqlite}
    process: {manager: %s}
    apps:
      api:
        process: marketplace-api
        role: api
        source: .
        start: %s
        port: 3000
        pm2: %s
"""


def jlist(name: str) -> str:
    return (FIXTURES / name).read_text()


# -- config ------------------------------------------------------------------------------------
def test_the_runbooks_ecosystem_settings_load(tmp_path):
    env = load(tmp_path, ENV % ("pm2", "node dist/index.js", "{instances: 4, exec_mode: cluster, "
                                "max_memory_restart: 1G, log_date_format: 'YYYY-MM-DD HH:mm:ss Z', "
                                "error_file: err.log, out_file: out.log}"))
    assert env.apps["api"].pm2 == Pm2App(instances=4, exec_mode="cluster", max_memory_restart="1G",
                                         log_date_format="YYYY-MM-DD HH:mm:ss Z", error_file="err.log",
                                         out_file="out.log")
    env = load(tmp_path, ENV % ("pm2", "node dist/index.js", "{instances: max, exec_mode: cluster}"))
    assert env.apps["api"].pm2.instances == "max"


@pytest.mark.parametrize("pm2, expected", [
    ("{instances: 0, exec_mode: cluster}", "apps.api.pm2.instances: 0 is neither a positive number nor 'max'"),
    ("{instances: -2, exec_mode: cluster}", "apps.api.pm2.instances: -2 is neither a positive number nor 'max'"),
    ("{instances: many, exec_mode: cluster}", "apps.api.pm2.instances: 'many' is neither"),
    ("{instances: 2.5, exec_mode: cluster}", "apps.api.pm2.instances: 2.5 is neither"),
    ("{instances: true, exec_mode: cluster}", "apps.api.pm2.instances: True is neither"),
    ("{instances: 4, exec_mode: swarm}", "apps.api.pm2.exec_mode: Input should be 'cluster' or 'fork'"),
    ("{instances: 4}", "apps.api.pm2: fork mode runs one process (instances: 4); set exec_mode: cluster"),
    ("{max_memory_restart: lots}", "apps.api.pm2.max_memory_restart:"),
    ("{exec_mode: cluster, wait: 1}", "apps.api.pm2.wait: unknown key"),
])
def test_bad_pm2_settings_name_file_and_key(tmp_path, pm2, expected):
    message = error_of(tmp_path, ENV % ("pm2", "node dist/index.js", pm2))
    assert message.startswith("environments/test.yaml: ") and expected in message


def test_cluster_mode_needs_a_node_script_and_pm2(tmp_path):
    assert "start: pm2 cluster mode runs a Node script" in error_of(
        tmp_path, ENV % ("pm2", "python3 -m app", "{instances: 2, exec_mode: cluster}"))
    assert "apps.api.pm2: needs process.manager pm2 (it is supervisor)" in error_of(
        tmp_path, ENV % ("supervisor", "node dist/index.js", "{instances: 2, exec_mode: cluster}"))


# -- the ecosystem file and the commands -------------------------------------------------------------
def test_cluster_ecosystem_file():
    (eco,) = PM2.config_files(PROGRAM)
    (app,) = json.loads(eco.text)["apps"]
    assert app["exec_mode"] == "cluster" and app["instances"] == 4
    assert app["script"] == "dist/index.js" and app["node_args"] == ["--enable-source-maps"]
    assert app["args"] == ["--env-file", "/srv/marketplace/api/shared/api.env"]
    assert "interpreter" not in app                     # the daemon's node runs the workers
    assert app["cwd"] == "/srv/marketplace/api/current"
    assert app["max_memory_restart"] == "1G" and app["log_date_format"] == "YYYY-MM-DD HH:mm:ss Z"
    assert app["error_file"] == "/srv/marketplace/api/shared/logs/api-error.log"
    assert app["out_file"] == "/var/log/api.out"
    assert app["listen_timeout"] == PM2.listen_timeout_ms
    assert PROGRAM.log_file("err") == app["error_file"]  # logs and failure notes read that file


def test_fork_ecosystem_file_is_as_before():
    fork = Program(**{**PROGRAM.__dict__, "pm2": None, "error_file": None, "out_file": None})
    (app,) = json.loads(PM2.config_files(fork)[0].text)["apps"]
    assert app["exec_mode"] == "fork" and app["instances"] == 1 and app["interpreter"] == "none"
    assert app["script"] == "node" and app["args"][0] == "--enable-source-maps"
    assert app["error_file"] == "/srv/marketplace/api/shared/logs/marketplace-api.err.log"
    assert not {"max_memory_restart", "log_date_format", "node_args", "listen_timeout"} & set(app)


def test_cluster_restart_reloads_then_scales_to_the_configured_count():
    eco = "/srv/marketplace/api/shared/ecosystem.marketplace-api.json"
    assert [c.render() for c in PM2.restart_commands(PROGRAM)] == [
        f"env PM2_HOME=/run/pm2 /opt/node/bin/pm2 startOrReload {eco} --update-env",
        "env PM2_HOME=/run/pm2 /opt/node/bin/pm2 scale marketplace-api 4 >/dev/null 2>&1 || true"]
    every_cpu = Program(**{**PROGRAM.__dict__, "pm2": Pm2App(instances="max", exec_mode="cluster")})
    assert len(PM2.restart_commands(every_cpu)) == 1


def test_workers_command_reads_jlist_and_the_working_folders():
    assert PM2.workers_command().render() == (
        f"env PM2_HOME=/run/pm2 /opt/node/bin/pm2 jlist ; echo {CWD_MARK} ; "
        "find /proc -mindepth 2 -maxdepth 2 -name cwd -printf '%h %l\\n' 2>/dev/null")


# -- jlist of a real cluster ------------------------------------------------------------------------
def test_all_four_workers_of_a_real_cluster():
    workers = parse_workers(jlist("jlist_cluster4_online.json"))
    assert [(w.pm_id, w.status, w.exec_mode) for w in workers] == [
        (0, "online", "cluster"), (1, "online", "cluster"), (2, "online", "cluster"), (3, "online", "cluster")]
    assert len({w.pid for w in workers}) == 4
    state = PM2.parse_status(jlist("jlist_cluster4_online.json"), 0)["marketplace-api"]
    assert state.state == "running" and state.workers == 4 and state.online == 4
    assert state.detail.startswith("4/4 online, cluster")


def test_a_cluster_with_one_worker_restarting_is_not_running():
    states = PM2.parse_status(jlist("jlist_cluster4_one_restarting.json"), 0)
    assert states["marketplace-api"].state == "starting"
    assert states["marketplace-api"].detail.startswith("3/4 online, cluster")
    both = PM2.parse_status(jlist("jlist_cluster_and_fork.json"), 0)
    assert both["marketplace-web"].state == "running" and both["marketplace-web"].detail == "restarts=0"
    assert both["marketplace-api"].workers == 4


def with_cwds(text: str, folders: dict[int, str]) -> str:
    lines = "".join(f"/proc/{pid} {folder}\n" for pid, folder in folders.items())
    return f"{text}\n{CWD_MARK}\n/proc/1 /\n{lines}"


def test_worker_folders_from_proc():
    workers = parse_workers(jlist("jlist_cluster4_online.json"))
    output = with_cwds(jlist("jlist_cluster4_online.json"),
                       {w.pid: f"/srv/marketplace/api/releases/r{w.pm_id}" for w in workers})
    assert [w.cwd for w in parse_workers(output)] == [f"/srv/marketplace/api/releases/r{i}" for i in range(4)]
    assert release_of("/srv/marketplace/api/releases/20260101-abc") == "20260101-abc"
    assert release_of("/srv/marketplace/api") is None and release_of(None) is None


# -- the worker gate -----------------------------------------------------------------------------------
def on(release: str, name: str = "jlist_cluster4_online.json", old: set[int] = frozenset()):
    text = jlist(name)
    pids = {w.pid: w.pm_id for w in parse_workers(text)}
    return parse_workers(with_cwds(text, {pid: f"/srv/api/releases/{'r1' if i in old else release}"
                                          for pid, i in pids.items()}))


def test_verdict_needs_every_worker_on_the_release():
    assert worker_verdict(on("r2"), "marketplace-api", "r2", 4, "cluster").ok
    old = worker_verdict(on("r2", old={2}), "marketplace-api", "r2", 4, "cluster")
    assert not old.ok and old.reason.startswith("worker 2 (pid ") and old.reason.endswith("runs r1, want r2")
    assert worker_verdict(on("r2"), "marketplace-api", "r2", 2, "cluster").reason == "4 workers, want 2"
    assert worker_verdict(on("r2"), "marketplace-api", "r2", "max", "cluster").ok
    fork = worker_verdict(on("r2"), "marketplace-api", "r2", 4, "fork")
    assert "runs in cluster mode, want fork" in fork.reason
    assert worker_verdict([], "marketplace-api", "r2", 4, "cluster").reason == "pm2 runs no marketplace-api"
    crashing = worker_verdict(on("r2", "jlist_cluster4_one_restarting.json"), "marketplace-api", "r2", 4, "cluster")
    assert crashing.reason == "worker 3 is launching (restarts 28)"


def test_stable_sees_a_worker_that_restarted():
    first = on("r2", "jlist_cluster4_one_crashing.json")   # worker 3 online for the moment
    assert worker_verdict(first, "marketplace-api", "r2", 4, "cluster").ok
    assert stable(first, first, "marketplace-api") is None
    later = on("r2", "jlist_cluster4_one_restarting.json")
    assert stable(first, later, "marketplace-api") == \
        "worker 3 restarted during the gate (restarts 28): it crashes?"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run_gate(readings, http_ok=True, deadline=10):
    clock = Clock()
    seen = list(readings)
    passes_asked = []

    def read():
        clock.now += 0.1
        return seen.pop(0) if len(seen) > 1 else seen[0]

    def http(passes):
        passes_asked.append(passes)
        return GateResult(http_ok, "http://h:3000/health", "healthy" if http_ok else "HTTP 500", passes, 1.0, "r2")

    result = wait_workers(read, http, "marketplace-api", "r2", 4, "cluster",
                          HealthPolicy(passes=3, interval=0.5, deadline=deadline), clock, clock.sleep)
    return result, passes_asked


def test_gate_waits_for_the_last_old_worker_then_asks_http_for_each_worker():
    result, passes = run_gate([on("r2", old={3}), on("r2", old={3}), on("r2"), on("r2")])
    assert result.ok and result.reason == "healthy; 4/4 workers online on r2"
    assert passes == [8]                                  # 2 x 4 workers in a row


def test_rounds_are_spaced_by_the_policy_and_back_off_like_the_http_gate():
    clock, sleeps = Clock(), []
    readings = [on("r2", old={3})] * 5 + [on("r2")]

    def sleep(seconds):
        sleeps.append(round(seconds, 3))
        clock.sleep(seconds)

    result = wait_workers(lambda: readings.pop(0) if len(readings) > 1 else readings[0], lambda passes: GateResult(True, "u", "healthy", passes, 0.0, "r2"),
                          "marketplace-api", "r2", 4, "cluster",
                          HealthPolicy(passes=3, interval=0.1, max_interval=0.3, deadline=10), clock, sleep)
    assert result.ok
    assert sleeps == [0.1, 0.15, 0.225, 0.3, 0.3]       # 100ms apart, x1.5 per failed round, capped


def test_gate_fails_on_a_worker_that_keeps_crashing():
    crashing, restarting = on("r2", "jlist_cluster4_one_crashing.json"), on("r2", "jlist_cluster4_one_restarting.json")
    result, _ = run_gate([crashing, restarting] * 100, deadline=5)
    assert not result.ok and "not ready within 5s" in result.reason
    assert "worker 3" in result.reason


def test_a_crash_loop_is_named_whatever_state_the_last_look_caught_the_worker_in():
    """pm2 restarts a worker that exits at boot: the gate's last look may find it errored, launching,
    or online before its folder is known - the reason names the restarts in every case."""
    crashing = on("r2", "jlist_cluster4_one_crashing.json")
    restarting = on("r2", "jlist_cluster4_one_restarting.json")
    unknown = [replace(w, cwd=None, status="online") if w.pm_id == 3 else w for w in restarting]
    result, _ = run_gate([crashing, restarting] * 3 + [unknown], deadline=5)
    assert not result.ok
    assert "runs an unknown folder" in result.reason
    first, last = ({w.pm_id: w.restarts for w in reading}[3] for reading in (crashing, unknown))
    assert result.reason.endswith(f"; worker 3 restarted {last - first} times during the gate "
                                  f"(restarts {last}): it crashes at boot?"), result.reason
    result, _ = run_gate([on("r2", old={1})], deadline=3)     # no restarts: nothing added
    assert result.reason.endswith("runs r1, want r2")


def test_a_worker_restarted_three_times_during_the_gate_fails_it_before_the_deadline():
    """A crash loop does not heal by waiting: the third restart pm2 makes while the gate watches
    ends the gate (two restarts are still waited on)."""
    restarting = on("r2", "jlist_cluster4_one_restarting.json")
    base = {w.pm_id: w.restarts for w in restarting}[3]
    climbing = [[replace(w, restarts=base + n) if w.pm_id == 3 else w for w in restarting] for n in range(10)]
    result, _ = run_gate(climbing, deadline=60)
    assert not result.ok and result.reason.startswith("crash loop after ")
    assert result.seconds < 5 and result.attempts == 4              # first look + 3 restarts seen
    assert result.reason.endswith(f"; worker 3 restarted 3 times during the gate (restarts {base + 3}): "
                                  "it crashes at boot?"), result.reason
    result, _ = run_gate(climbing[:3] + [on("r2")], deadline=60)     # two restarts, then all four well
    assert result.ok, result.reason


def test_a_worker_pm2_gave_up_on_fails_the_gate_before_the_deadline():
    """pm2 stops restarting after max_restarts; with a restart_delay it leaves the worker "waiting
    restart" for good. Down with the same restart count for GAVE_UP seconds ends the gate."""
    restarting = on("r2", "jlist_cluster4_one_restarting.json")
    stuck = [replace(w, status="waiting restart", restarts=10) if w.pm_id == 3 else w for w in restarting]
    result, _ = run_gate([stuck], deadline=60)
    assert not result.ok and result.seconds < 5, result
    assert result.reason == "pm2 gave up on worker 3 (waiting restart, restarts 10, unchanged for 3s): " \
                            "it crashes at boot?"
    # down, but restarted every round: pm2 still tries - the deadline (or the crash-loop rule) decides
    climbing = [[replace(w, status="waiting restart", restarts=10 + n // 2) if w.pm_id == 3 else w
                 for w in restarting] for n in range(25)]
    result, _ = run_gate(climbing, deadline=60)
    assert "gave up" not in result.reason, result.reason


def test_gate_fails_when_http_fails_and_when_an_old_worker_stays():
    result, _ = run_gate([on("r2")], http_ok=False)
    assert not result.ok and result.reason == "HTTP 500"
    result, passes = run_gate([on("r2", old={1})], deadline=3)
    assert not result.ok and result.reason.endswith("runs r1, want r2") and passes == []


def test_the_flag_gate_on_a_cluster_hears_every_worker():
    from deploy.engine.workers import cluster_policy
    policy = HealthPolicy(passes=3)
    assert cluster_policy(PROGRAM, policy).passes == 8
    assert cluster_policy(Program(**{**PROGRAM.__dict__, "pm2": None}), policy).passes == 3
    every_cpu = Program(**{**PROGRAM.__dict__, "pm2": Pm2App(instances="max", exec_mode="cluster")})
    assert cluster_policy(every_cpu, policy).passes == 3

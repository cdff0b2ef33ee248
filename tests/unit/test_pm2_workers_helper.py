"""The workers gate's reading through one helper per gate (deploy/process/pm2_workers.js): the
command that starts it, the parser of its answers, the Session a host keeps it in (a real local
process), and the reader's fall back to `pm2 jlist` when the helper does not answer."""

import json
import shlex

from deploy.config.environment import HostConfig
from deploy.commands.shell import cmd
from deploy.engine.workers import WorkerReader
from deploy.hosts.fleet import LocalHost, Result
from deploy.process.pm2 import CWD_MARK, HELPER_MARK, Pm2, helper_source, parse_helper_line

PM2 = Pm2("/opt/node/bin/pm2", "/run/pm2")
PROC = {"name": "marketplace-api", "pm_id": 2, "pid": 4242, "cwd": "/srv/marketplace/api/releases/r2",
        "pm2_env": {"status": "online", "exec_mode": "cluster_mode", "restart_time": 1, "pm_uptime": 1700000000000}}


def test_the_helper_runs_under_node_with_the_pm2_binary_and_home():
    command = PM2.workers_helper_command()
    assert str(command) == "env PM2_HOME=/run/pm2 node -e <pm2_workers.js> /opt/node/bin/pm2"
    assert shlex.split(command.render())[4] == helper_source()   # the file's text, quoted whole
    assert "require.resolve('pm2'" in helper_source()
    assert str(Pm2("pm2").workers_helper_command()) == "node -e <pm2_workers.js> pm2"


def test_an_answer_is_the_workers_with_their_folders():
    [worker] = parse_helper_line(f"{HELPER_MARK} {json.dumps([PROC, {'no': 'name'}])}\r\n")
    assert (worker.name, worker.pm_id, worker.pid, worker.status, worker.exec_mode, worker.restarts,
            worker.started_ms, worker.cwd) == ("marketplace-api", 2, 4242, "online", "cluster", 1,
                                               1700000000000.0, "/srv/marketplace/api/releases/r2")
    assert parse_helper_line(f"{HELPER_MARK} []") == []
    gone = dict(PROC, pid=0, cwd=None)     # a stopped worker: no pid, no folder
    assert parse_helper_line(f"{HELPER_MARK} {json.dumps([gone])}")[0].cwd is None


def test_anything_else_is_not_an_answer():
    for line in ("[PM2] Spawning PM2 daemon", f"{HELPER_MARK} {{}}", f"{HELPER_MARK} [1,", "",
                 json.dumps([PROC])):
        assert parse_helper_line(line) is None, line


def local_host() -> LocalHost:
    return LocalHost(HostConfig(name="h", transport="local"), 30)


def test_a_local_session_answers_each_line_then_ends():
    session = local_host().session(cmd("sh", "-c", 'n=0; while read q; do n=$((n+1)); echo "answer $n to $q"; done'))
    assert session.ask("a") == "answer 1 to a"
    assert session.ask("b") == "answer 2 to b"
    session.close()
    assert session.ask("c") is None


def test_a_session_that_ends_or_stays_silent_answers_none():
    assert local_host().session(cmd("true")).ask("x", timeout=5) is None
    assert local_host().session(cmd("sleep", "30")).ask("x", timeout=0.2) is None


class FakeHost:
    """A host whose helper answers with `lines`, then ends; `pm2 jlist` runs are counted."""

    def __init__(self, lines):
        self.lines, self.runs, self.sessions = list(lines), [], 0

    def session(self, command):
        self.sessions += 1
        host = self

        class Answers:
            def ask(self, question="", timeout=30):
                return host.lines.pop(0) if host.lines else None

            def close(self):
                pass
        return Answers()

    def run(self, command, check=True, timeout=None):
        self.runs.append(str(command))
        jlist = [dict(PROC, cwd=None)]
        return Result(str(command), f"{json.dumps(jlist)}{CWD_MARK}\n/proc/4242 /srv/x/releases/r1\n", "", 0)


def test_the_reader_asks_one_helper_for_every_reading():
    answer = f"{HELPER_MARK} {json.dumps([PROC])}"
    host = FakeHost(["[PM2] banner", answer, answer])
    reader = WorkerReader(host, PM2)
    assert [w.cwd for w in reader.read()] == ["/srv/marketplace/api/releases/r2"]
    assert [w.cwd for w in reader.read()] == ["/srv/marketplace/api/releases/r2"]
    assert (host.sessions, host.runs) == (1, [])


def test_the_reader_falls_back_to_jlist_when_the_helper_stops_answering():
    host = FakeHost([])
    reader = WorkerReader(host, PM2)
    assert [w.cwd for w in reader.read()] == ["/srv/x/releases/r1"]
    assert [w.cwd for w in reader.read()] == ["/srv/x/releases/r1"]
    assert host.sessions == 1 and len(host.runs) == 2 and "jlist" in host.runs[0]

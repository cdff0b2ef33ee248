"""Automatic undo of phase 2 on three real sshd hosts: a failed health gate, a release that
cannot start, a host that crashes mid-deploy, and Ctrl-C. Every host the run switched goes back
to its previous release; hosts it never reached stay untouched; the exit code is 1."""

from __future__ import annotations

import json
import signal
import textwrap

from tests.integration.test_phase2_support import (API_CRASHES, API_UNHEALTHY, TEST_JWT_SECRET,
                                                   journal_events, make_project, wait_for)


def baseline(project):
    """v1 on every host, deployed fast (all hosts in one batch)."""
    proc, doc = project.deploy()
    assert proc.returncode == 0, proc.stderr
    assert project.versions() == [doc["release"]] * 3
    return doc["release"]


def test_failed_health_gate_undoes_the_switched_host_and_leaves_the_rest(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    v1 = baseline(project)
    project.set_environment(batches={"size": 1, "max_fail": 0})
    project.set_smoke(**{"deadline: 8s": "deadline: 2s"})
    broken = project.build_tree(tmp_path, "unhealthy", api_py=API_UNHEALTHY)

    report = tmp_path / "reports" / "gates.xml"
    proc, doc = project.deploy("--artifact", str(broken), "--junit", str(report))

    assert proc.returncode == 1, proc.stderr
    assert "health gate" in doc["error"] and "HTTP 500" in doc["error"]
    import xml.etree.ElementTree as ET
    cases = {(c.get("classname"), c.get("name")): c for c in ET.parse(report).getroot().iter("testcase")}
    first_host = fleet3.hosts[0].name
    assert "HTTP 500" in cases[("health gate", first_host)].find("failure").get("message")
    assert cases[("health gate", fleet3.hosts[2].name)].find("skipped") is not None
    assert sum(c.find("failure") is not None for c in cases.values()) == 1
    assert TEST_JWT_SECRET not in report.read_text()
    notes = {h["host"]: h["note"] for h in doc["hosts"]}
    first, second, third = (h.name for h in fleet3.hosts)
    assert notes == {first: "switched back", second: "untouched", third: "untouched"}
    assert [h["now"] for h in doc["hosts"]] == [v1] * 3
    assert project.versions() == [v1] * 3
    for host in fleet3.hosts:
        assert project.current(host) == v1
        assert project.releases_on(host) == [v1]          # the failed release is cleaned up
    finish = [e for e in journal_events(project, "phase2") if e[0] == "finish"][-1]
    assert finish[2] == "undone" and "health gate" in finish[3]
    assert TEST_JWT_SECRET not in proc.stdout + proc.stderr


def test_release_that_cannot_start_is_undone_on_every_host_pm2(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3, manager="pm2")
    v1 = baseline(project)
    project.set_smoke(**{"deadline: 8s": "deadline: 2s"})
    crashing = project.build_tree(tmp_path, "crashing", api_py=API_CRASHES)

    proc, doc = project.deploy("--artifact", str(crashing))

    assert proc.returncode == 1, proc.stderr
    assert {h["note"] for h in doc["hosts"]} == {"switched back"}
    assert [h["now"] for h in doc["hosts"]] == [v1] * 3
    assert project.versions() == [v1] * 3
    undone = [u for u in doc["undo"] if u["undo"].startswith("put ")]
    assert len(undone) == 3 and all(u["ok"] for u in undone)


def test_release_that_cannot_start_fails_fast_under_supervisor(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    v1 = baseline(project)
    crashing = project.build_tree(tmp_path, "crashing", api_py=API_CRASHES)

    proc, doc = project.deploy("--artifact", str(crashing))

    assert proc.returncode == 1, proc.stderr
    assert "spawn error" in doc["error"]     # supervisorctl restart refuses it; no gate to wait for
    assert "this release cannot start" in doc["error"]     # the app's own last words, from its log
    assert [h["now"] for h in doc["hosts"]] == [v1] * 3
    assert project.versions() == [v1] * 3


# An API that answers healthy (its release's version) until 0.7 s after supervisord forked it, then
# exits: it can pass a health gate of 3 answers 100 ms apart, never supervisord's startsecs (1 s).
# Its age is the kernel's (/proc/self/stat's start time), so a slow interpreter start on a busy
# machine shortens the healthy time instead of carrying the exit past startsecs.
API_ANSWERS_THEN_EXITS = textwrap.dedent("""
    import json, os, sys, threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    def main():
        values = dict(line.strip().split("=", 1) for line in open(sys.argv[sys.argv.index("--env-file") + 1])
                      if "=" in line and not line.startswith("#"))
        try:
            version = open("VERSION").read().strip()
        except OSError:
            version = ""
        body = json.dumps({"status": "ok", "version": version or values.get("APP_VERSION", "")}).encode()
        class Brief(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = HTTPServer((values["HOST"].strip(), int(values["PORT"])), Brief)
        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])   # starttime
        age = float(open("/proc/uptime").read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
        threading.Timer(max(0.0, 0.7 - age), lambda: os._exit(3)).start()
        print(f"answering until 0.7s old (now {age:.2f}s), then exiting", file=sys.stderr, flush=True)
        server.serve_forever()

    if __name__ == "__main__":
        main()
""")


def test_release_that_passes_its_gate_but_not_startsecs_is_undone_under_supervisor(tmp_path, fleet3):
    """The gate begins at the spawn, beside supervisord's startsecs: a program that answers healthy
    and then exits before supervisord calls it RUNNING fails its host (supervisord's reason)."""
    project = make_project(tmp_path, fleet3)
    v1 = baseline(project)
    brief = project.build_tree(tmp_path, "brief", api_py=API_ANSWERS_THEN_EXITS)

    proc, doc = project.deploy("--artifact", str(brief))

    assert proc.returncode == 1, proc.stderr
    assert "spawn error" in doc["error"] and "Exited too quickly" in doc["error"], doc["error"]
    assert [h["now"] for h in doc["hosts"]] == [v1] * 3
    assert project.versions() == [v1] * 3


def test_host_crashed_mid_deploy_puts_the_switched_hosts_back(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    v1 = baseline(project)
    project.set_environment(batches={"size": 1, "max_fail": 0})
    first, second, third = fleet3.hosts

    run = project.invoke("deploy.phase2", "--json", wait=False)
    wait_for(lambda: project.current(first) not in (None, v1), timeout=30)
    second.crash()                       # host2's turn has not come yet: it dies before its switch
    stdout, stderr = run.communicate(timeout=60)

    assert run.returncode == 1, stderr
    doc = json.loads(stdout)
    notes = {h["host"]: h["note"] for h in doc["hosts"]}
    assert notes[first.name] == "switched back"
    assert notes[second.name].startswith("unreachable")
    assert notes[third.name] == "untouched"
    assert project.current(first) == v1 and project.current(third) == v1
    assert [(project.health(h) or {}).get("version") for h in (first, third)] == [v1, v1]


def test_ctrl_c_mid_deploy_undoes_like_a_failure(tmp_path, fleet3):
    project = make_project(tmp_path, fleet3)
    v1 = baseline(project)
    project.set_environment(batches={"size": 1, "max_fail": 0})
    first = fleet3.hosts[0]

    run = project.invoke("deploy.phase2", wait=False)
    wait_for(lambda: project.current(first) not in (None, v1), timeout=30)
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)

    assert run.returncode == 1, stderr
    assert "interrupted" in stderr
    assert [project.current(h) for h in fleet3.hosts] == [v1] * 3
    assert project.versions() == [v1] * 3
    finish = [e for e in journal_events(project, "phase2") if e[0] == "finish"][-1]
    assert finish[2] == "undone"

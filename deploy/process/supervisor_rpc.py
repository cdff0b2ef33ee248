"""Run on a host (stdlib only): supervisord's XML-RPC over its unix socket, from one short process.

deploy.process.supervisor sends this file's text as `python3 -I -S -c <text> ACTION ...`:

    restart NAME CONF SOCKET SUPERVISORD   supervisord started unless it answers; NAME stopped; the
                                           config loaded (as `supervisorctl update` does); NAME
                                           started ("NAME: spawned" on stderr once supervisord
                                           forked it: a caller may begin its health gate then) and
                                           waited for until supervisord calls it RUNNING (it stayed
                                           up startsecs) - or the start failed
    stop NAME CONF SOCKET                  NAME stopped
    status CONF SOCKET                     every program, one line each (getAllProcessInfo):
                                           GROUP:NAME <tab> STATE <tab> PID <tab> DESCRIPTION
                                           (supervisorctl status's columns; PID 0: none)
    tail NAME CONF SOCKET BYTES SEPARATOR  the last BYTES of NAME's stdout log, a SEPARATOR line,
                                           the last BYTES of its stderr log (each as
                                           `supervisorctl tail -BYTES NAME stdout|stderr` prints it)

One interpreter where `supervisorctl` took four (pid, reread, update, restart: ~0.25 s of CPU each,
importing supervisor), and every wait done by asking supervisord every POLL seconds: supervisorctl's
wait is a deferred answer that supervisord's main loop looks at when it wakes - up to 1 s apart
while the program is quiet - and each question here wakes it. The start is judged as
supervisorctl judges it (supervisor.rpcinterface.startProcess): an error when the process exited
before startsecs (`spawn error`, with supervisord's reason) or left STARTING otherwise.
Exit codes: 0 done, 1 failed (said on stderr), 2 supervisord not reachable (stop, status, tail).
"""

import http.client
import os
import socket
import subprocess
import sys
import time
import xmlrpc.client

POLL = 0.05
DEADLINE = 120.0    # seconds a stop or start may take (stopwaitsecs and startsecs are far shorter)
STARTING, RUNNING = 10, 20
STOPPED_STATES = (0, 100, 200)                  # STOPPED, EXITED, FATAL
NOT_RUNNING, SPAWN_ERROR, ABNORMAL, FAILED, ALREADY_STARTED, BAD_NAME, NO_FILE = 70, 50, 40, 30, 60, 10, 20
SAID = {10: "no such process", 20: "no such file", 21: "file is not executable", 30: "failed",
        40: "abnormal termination", 50: "spawn error", 60: "already started", 70: "not running",
        6: "supervisord is shutting down"}


def say(text, stream=None):
    """A line for the caller. A caller gone (a deploy killed mid-restart closed the SSH channel)
    does not stop the work: its outputs go to /dev/null from then on and the restart goes on."""
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        nowhere = os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, 1)
        os.dup2(nowhere, 2)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        if self._connection[1] is None:
            self._connection = host, UnixConnection(self.unix_path)
        return self._connection[1]


class Failed(Exception):
    pass


def fault(name, exc):
    return Failed(f"{name}: ERROR ({SAID.get(exc.faultCode, exc.faultString)})")


def state(rpc, name):
    info = rpc.getProcessInfo(name)
    return info["state"], info["spawnerr"], info["description"]


def stop(rpc, name, unknown_ok=False):
    try:
        rpc.stopProcess(name, False)
    except xmlrpc.client.Fault as exc:
        if exc.faultCode == NOT_RUNNING or (unknown_ok and exc.faultCode == BAD_NAME):
            return False
        raise fault(name, exc) from None
    until = time.monotonic() + DEADLINE
    while state(rpc, name)[0] not in STOPPED_STATES:   # stopwaitsecs, then supervisord's SIGKILL
        if time.monotonic() > until:
            raise Failed(f"{name}: ERROR (not stopped within {DEADLINE:g}s)")
        time.sleep(POLL)
    return True


def start(rpc, name):
    """Start NAME - or, when supervisord's autostart spawned it already (a group just (re)added by
    `update`, a supervisord just started), wait for that start: a second stop would race its
    fork and exec (a SIGTERM there is lost, and supervisord waits stopwaitsecs for nothing)."""
    try:
        rpc.startProcess(name, False)
    except xmlrpc.client.Fault as exc:
        if exc.faultCode != ALREADY_STARTED:
            raise fault(name, exc) from None
    until = time.monotonic() + DEADLINE
    announced = False
    while True:
        now, spawnerr, description = state(rpc, name)
        if spawnerr:
            raise Failed(f"{name}: ERROR (spawn error: {spawnerr})")
        if not announced and now in (STARTING, RUNNING):
            say(f"{name}: spawned", sys.stderr)   # deploy.engine.starting reads it
            announced = True
        if now == RUNNING:
            return
        if now != STARTING:
            raise Failed(f"{name}: ERROR (abnormal termination: {description})")
        if time.monotonic() > until:
            raise Failed(f"{name}: ERROR (still starting after {DEADLINE:g}s)")
        time.sleep(POLL)


def update(rpc):
    """What `supervisorctl update` does: groups removed, changed (re-added) and added."""
    added, changed, removed = rpc.reloadConfig()[0]
    for group in removed:
        if any(r["status"] == FAILED for r in rpc.stopProcessGroup(group)):
            raise Failed(f"{group}: has problems; not removing")
        rpc.removeProcessGroup(group)
    for group in changed:
        rpc.stopProcessGroup(group)
        rpc.removeProcessGroup(group)
        rpc.addProcessGroup(group)
    for group in added:
        rpc.addProcessGroup(group)
    return [*added, *changed]


def daemon(rpc, conf, supervisord):
    """Start supervisord unless it answers (it listens before it daemonizes)."""
    try:
        rpc.getPID()
        return False
    except OSError:
        pass
    try:
        code = subprocess.call([supervisord, "-c", conf])
    except OSError as exc:
        raise Failed(f"cannot start {supervisord}: {exc.strerror or exc}") from None
    if code != 0:
        raise Failed(f"{supervisord} -c {conf} exited {code}")
    return True


def status(rpc, conf):
    """What `supervisorctl status` shows, tab-separated (a description holds spaces); one question."""
    try:
        everything = rpc.getAllProcessInfo()
    except OSError as exc:
        print(f"supervisord is not running ({conf}): {exc.strerror or exc}", file=sys.stderr)
        return 2
    for info in everything:
        name = info["name"] if info["group"] == info["name"] else f"{info['group']}:{info['name']}"
        description = " ".join(info["description"].split())   # one line, no tab
        print(f"{name}\t{info['statename']}\t{info['pid']}\t{description}")
    return 0


def tail(rpc, name, conf, size, separator):
    """Both log windows, read before anything is printed: an error leaves no half answer."""
    try:
        out = rpc.readProcessStdoutLog(name, -int(size), 0)
        err = rpc.readProcessStderrLog(name, -int(size), 0)
    except OSError as exc:
        print(f"supervisord is not running ({conf}): {exc.strerror or exc}", file=sys.stderr)
        return 2
    except xmlrpc.client.Fault as exc:   # supervisorctl's words (supervisor.supervisorctl do_tail)
        said = {NO_FILE: "no log file", FAILED: "unknown error reading log", BAD_NAME: "no such process name"}
        raise Failed(f"{name}: ERROR ({said.get(exc.faultCode, exc.faultString)})") from None
    sys.stdout.buffer.write(f"{out}\n{separator}\n{err}\n".encode("utf-8", "replace"))
    return 0


def main(argv):
    # line by line, also into a pipe: a caller reading both streams as one sees them in order
    sys.stdout.reconfigure(line_buffering=True)
    if argv[:1] == ["status"]:
        argv = [argv[0], "", *argv[1:]]     # status names no program
    action, name, conf, sock = argv[:4]
    rpc = xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(sock)).supervisor
    try:
        if action == "restart":
            # the running program stopped first (it exec'd long ago), then the config loaded: a
            # group it re-adds is autostarted by supervisord, and start() waits for that start
            if not daemon(rpc, conf, argv[4]) and stop(rpc, name, unknown_ok=True):   # new: update adds it
                say(f"{name}: stopped")
            update(rpc)
            start(rpc, name)
            say(f"{name}: started")
        elif action == "status":
            return status(rpc, conf)
        elif action == "tail":
            return tail(rpc, name, conf, *argv[4:6])
        elif action == "stop":
            try:
                rpc.getPID()
            except OSError as exc:
                print(f"supervisord is not running ({conf}): {exc.strerror or exc}", file=sys.stderr)
                return 2
            if not stop(rpc, name):
                raise Failed(f"{name}: ERROR (not running)")
            say(f"{name}: stopped")
        else:
            raise Failed(f"unknown action {action!r}")
    except Failed as exc:
        print(exc, file=sys.stderr)
        return 1
    except xmlrpc.client.Fault as exc:
        print(f"supervisord: {exc.faultString}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"supervisord ({sock}): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

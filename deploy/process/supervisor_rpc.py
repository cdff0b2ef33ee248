"""Run on a host (stdlib only): supervisord's XML-RPC over its unix socket, from one short process.

deploy.process.supervisor sends this file's text as `python3 -I -S -c <text> ACTION ...`:

    restart NAME CONF SOCKET SUPERVISORD   supervisord started unless it answers; NAME stopped; the
                                           config loaded (as `supervisorctl update` does); NAME
                                           started ("NAME: spawned" on stderr once supervisord
                                           forked it: a caller may begin its health gate then) and
                                           waited for until supervisord calls it RUNNING (it stayed
                                           up startsecs) - or the start failed
    stop NAME CONF SOCKET                  NAME stopped

One interpreter where `supervisorctl` took four (pid, reread, update, restart: ~0.25 s of CPU each,
importing supervisor), and every wait done by asking supervisord every POLL seconds: supervisorctl's
wait is a deferred answer that supervisord's main loop looks at when it wakes - up to 1 s apart
while the program is quiet - and each question here wakes it. The start is judged as
supervisorctl judges it (supervisor.rpcinterface.startProcess): an error when the process exited
before startsecs (`spawn error`, with supervisord's reason) or left STARTING otherwise.
Exit codes: 0 done, 1 failed (said on stderr), 2 supervisord not reachable (stop only).

XML-RPC is spoken here with `socket` and expat, not xmlrpc.client: that module imports http.client
and with it the email package (0.07 s of CPU of the 0.09 this process cost; it is on the critical
path of every restart and stop). What supervisord's answers hold (ints, strings, booleans, arrays,
structs, faults) is decoded; calls carry strings, ints and booleans.
"""

import socket
import sys
import time
from xml.parsers import expat

POLL = 0.05
DEADLINE = 120.0    # seconds a stop or start may take (stopwaitsecs and startsecs are far shorter)
STARTING, RUNNING = 10, 20
STOPPED_STATES = (0, 100, 200)                  # STOPPED, EXITED, FATAL
NOT_RUNNING, SPAWN_ERROR, ABNORMAL, FAILED, ALREADY_STARTED, BAD_NAME = 70, 50, 40, 30, 60, 10
SAID = {10: "no such process", 20: "no such file", 21: "file is not executable", 30: "failed",
        40: "abnormal termination", 50: "spawn error", 60: "already started", 70: "not running",
        6: "supervisord is shutting down"}


class Fault(Exception):
    """An XML-RPC fault: supervisord refused the call (faultCode as in supervisor.xmlrpc.Faults)."""

    def __init__(self, code, string):
        super().__init__(f"{code}: {string}")
        self.faultCode, self.faultString = code, string


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode_call(method, params):
    """A methodCall document (bytes) for strings, ints and booleans."""
    values = []
    for param in params:
        if isinstance(param, bool):
            value = f"<boolean>{int(param)}</boolean>"
        elif isinstance(param, int):
            value = f"<int>{param}</int>"
        elif isinstance(param, str):
            value = f"<string>{_escape(param)}</string>"
        else:
            raise TypeError(f"cannot send {type(param).__name__}")
        values.append(f"<param><value>{value}</value></param>")
    return (f"<?xml version='1.0'?>\n<methodCall>\n<methodName>{_escape(method)}</methodName>\n"
            f"<params>\n{''.join(values)}\n</params>\n</methodCall>\n").encode()


_SCALARS = {"int": int, "i4": int, "i8": int, "boolean": lambda text: text.strip() == "1",
            "string": str, "double": float, "nil": lambda text: None}


class _Name(str):
    """A struct member's name on the decoder's stack."""


def decode_response(body):
    """The value a methodResponse carries; a fault raises Fault."""
    stack, marks, text = [], [], []
    value_marks = []
    fault = []

    def start(tag, _attrs):
        text.clear()
        if tag == "value":
            value_marks.append(len(stack))
        elif tag in ("array", "struct"):
            marks.append(len(stack))

    def end(tag):
        data = "".join(text)
        text.clear()
        if tag in _SCALARS:
            stack.append(_SCALARS[tag](data))
        elif tag == "value":
            if len(stack) == value_marks.pop():   # <value>text</value>: a string
                stack.append(data)
        elif tag == "name":
            stack.append(_Name(data))
        elif tag == "array":
            mark = marks.pop()
            stack[mark:] = [list(stack[mark:])]
        elif tag == "struct":
            mark = marks.pop()
            items = stack[mark:]
            stack[mark:] = [{items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}]
        elif tag == "fault":
            fault.append(stack.pop())

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise Failed(f"supervisord: unreadable answer ({exc})") from None
    if fault:
        raise Fault(fault[0].get("faultCode"), fault[0].get("faultString", ""))
    if len(stack) != 1:
        raise Failed(f"supervisord: unexpected answer {body[:200]!r}")
    return stack[0]


def split_http(answer):
    """The body of an HTTP answer (bytes), or Failed when its status is not 200."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        raise Failed(f"supervisord: HTTP answer {head[:80]!r}")
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return body[:int(value)]
    return body


class RPC:
    """supervisord's `supervisor.*` methods over its unix socket, one HTTP/1.0 request each."""

    def __init__(self, path):
        self.path = path

    def call(self, method, *params):
        request = encode_call(f"supervisor.{method}", params)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect(self.path)
            sock.sendall(b"POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(request), request))
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return decode_response(split_http(b"".join(chunks)))

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *params: self.call(method, *params)


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
    except Fault as exc:
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
    except Fault as exc:
        if exc.faultCode != ALREADY_STARTED:
            raise fault(name, exc) from None
    until = time.monotonic() + DEADLINE
    announced = False
    while True:
        now, spawnerr, description = state(rpc, name)
        if spawnerr:
            raise Failed(f"{name}: ERROR (spawn error: {spawnerr})")
        if not announced and now in (STARTING, RUNNING):
            print(f"{name}: spawned", file=sys.stderr, flush=True)   # deploy.engine.starting reads it
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
    import subprocess   # only here: 0.02 s of CPU that every other call would pay
    try:
        code = subprocess.call([supervisord, "-c", conf])
    except OSError as exc:
        raise Failed(f"cannot start {supervisord}: {exc.strerror or exc}") from None
    if code != 0:
        raise Failed(f"{supervisord} -c {conf} exited {code}")
    return True


def main(argv):
    # line by line, also into a pipe: a caller reading both streams as one sees them in order
    sys.stdout.reconfigure(line_buffering=True)
    action, name, conf, sock = argv[:4]
    rpc = RPC(sock)
    try:
        if action == "restart":
            # the running program stopped first (it exec'd long ago), then the config loaded: a
            # group it re-adds is autostarted by supervisord, and start() waits for that start
            if not daemon(rpc, conf, argv[4]) and stop(rpc, name, unknown_ok=True):   # new: update adds it
                print(f"{name}: stopped")
            update(rpc)
            start(rpc, name)
            print(f"{name}: started")
        elif action == "stop":
            try:
                rpc.getPID()
            except OSError as exc:
                print(f"supervisord is not running ({conf}): {exc.strerror or exc}", file=sys.stderr)
                return 2
            if not stop(rpc, name):
                raise Failed(f"{name}: ERROR (not running)")
            print(f"{name}: stopped")
        else:
            raise Failed(f"unknown action {action!r}")
    except Failed as exc:
        print(exc, file=sys.stderr)
        return 1
    except Fault as exc:
        print(f"supervisord: {exc.faultString}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"supervisord ({sock}): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A fleet of real sshd test hosts on this one machine (shared/TESTING.md, "A fleet of test hosts").

Each host is an sshd on its own loopback address inside its own mount namespace, with private
tmpfs on /srv, /run and /tmp; /usr, /etc, /root and /work stay shared, so the project's venv works
inside a host. Users log in as root with a client key generated for the session, and verify host
keys against the fleet's known_hosts file.

Every host has a small anchor process (the namespace's first process) that spawns sshd and reaps
orphans: daemons started over ssh (supervisord, pm2, the app) end up as its children, so a host
keeps its namespace and files while ssh is cut, and killing a host leaves no zombies behind.
(Background processes left by host.run() are orphaned to the machine's init instead; they are
still killed with the host.) There is no pid or network namespace: `ps`/`pkill` inside a host see
the whole machine, so find a host's processes with TestHost.pids().

Fixtures: ``fleet_factory(n)`` (session scope) starts n new hosts; ``fleet3`` gives each test three
fresh hosts. Without root, sshd or unshare the tests skip (fail under DEPLOY_TEST_STRICT=1).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.support import strict
from tests.support.ports import free_port

# Hosts get 127.0.S.10 upward. S varies per test session (by pid), so that sessions run at the
# same time by different people on this machine rarely race for an address.
FIRST_ADDRESS = ipaddress.IPv4Address("127.0.0.10") + 256 * (os.getpid() % 200)
START_DEADLINE = 10.0
KILL_DEADLINE = 10.0
LAUNCHERS = 8      # hosts launched at once

# Runs as `unshare --mount sh -c INIT fleet-init SRC PYTHON SSHD [KEEP...]`. Files are copied into
# the private /run before /tmp is covered, because the session's key dir lives under /tmp. Each
# KEEP path (the checkout and its venv, when a clone lives under /tmp as CI's may) is bound aside
# first and bound back over the fresh /tmp, so the project stays usable inside every host.
INIT = r"""
set -eu
src=$1 python=$2 sshd=$3
shift 3
mount --make-rprivate /
mkdir -p /srv /run /tmp
mount -t tmpfs -o mode=0755 fleet-run /run
mkdir -m 0755 /run/sshd /run/fleet /run/fleet/keep
cp "$src/sshd_config" "$src/ssh_host_ed25519_key" "$src/authorized_keys" /run/fleet/
n=0
for keep in "$@"; do
  n=$((n + 1)); mkdir -p "/run/fleet/keep/$n"; mount --bind "$keep" "/run/fleet/keep/$n"
done
mount -t tmpfs -o mode=0755 fleet-srv /srv
# A fresh server's root has the distribution's shell start-up, not this machine's developer
# dotfiles: Debian's bash reads ~/.bashrc for every ssh command, and a pyenv `init -` there
# rehashes under one lock file shared by every host (measured: 61 s for `bash -ic true` under load).
: > /run/fleet/bashrc
if [ -f /root/.bashrc ]; then mount --bind /run/fleet/bashrc /root/.bashrc; fi
mount -t tmpfs -o mode=1777 fleet-tmp /tmp
n=0
for keep in "$@"; do
  n=$((n + 1)); mkdir -p "$keep"; mount --bind "/run/fleet/keep/$n" "$keep"
done
exec "$python" -S -c 'import os; exec(os.environ.pop("FLEET_ANCHOR"))' "$sshd" -D -e -f /run/fleet/sshd_config
"""

# The anchor. Subreaper: orphans of the host are reparented here (not to the machine's init,
# which may never reap them). SIGUSR1 starts sshd again (restore_ssh). Parent-death signal:
# if pytest dies without teardown, the host goes down with it.
ANCHOR = r"""
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None)
libc.prctl(36, 1, 0, 0, 0)
libc.prctl(1, signal.SIGTERM, 0, 0, 0)
ns = os.readlink("/proc/self/ns/mnt")

def spawn_sshd(*_):
    pid = os.posix_spawn(sys.argv[1], sys.argv[1:], dict(os.environ))
    with open("/run/fleet/sshd.pid.new", "w") as f:
        f.write(str(pid))
    os.rename("/run/fleet/sshd.pid.new", "/run/fleet/sshd.pid")

def go_down(*_):
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(entry) != os.getpid() and os.readlink(f"/proc/{entry}/ns/mnt") == ns:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)

signal.signal(signal.SIGUSR1, spawn_sshd)
signal.signal(signal.SIGTERM, go_down)
spawn_sshd()
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
"""

SSHD_CONFIG = """\
ListenAddress {address}:{port}
HostKey /run/fleet/ssh_host_ed25519_key
AuthorizedKeysFile /run/fleet/authorized_keys
PidFile /run/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
UseDNS no
# The pipeline opens many sessions at once; defaults (10 startups, 10 sessions) are too tight.
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
"""
# OpenSSH >= 9.8 blocks sources that fail auth; tests that present wrong keys would lock out.
PENALTIES_OFF = "PerSourcePenalties no\n"


class HostCommandError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{super().__str__()}\nstdout: {self.output}\nstderr: {self.stderr}"


@dataclass
class TestHost:
    __test__ = False  # not a test class, despite the name

    name: str
    address: str
    port: int
    user: str
    sshd_pid: int
    anchor_pid: int
    mnt_ns: str  # "mnt:[inode]", as /proc/PID/ns/mnt reads for every process of this host
    log: Path  # sshd's stderr
    _proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)
    # Held open while the host is up: the kernel reuses the inode of a freed namespace, so without
    # it a later host (of any test session) could match mnt_ns and be killed by our crash().
    _ns_fd: int = field(default=-1, repr=False, compare=False)

    def run(self, command: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run `sh -c command` inside this host's mount namespace (for test setup, not via ssh)."""
        if self._ns_fd < 0:
            raise RuntimeError(f"{self.name} is down")
        argv = ["nsenter", f"--mount=/proc/self/fd/{self._ns_fd}", "sh", "-c", command]
        result = subprocess.run(argv, pass_fds=[self._ns_fd], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise HostCommandError(result.returncode, command, result.stdout, result.stderr)
        return result

    def pids(self) -> list[int]:
        """Every live process of this host, the anchor included; [] once the host is down."""
        if self._ns_fd < 0:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink(f"/proc/{entry}/ns/mnt") == self.mnt_ns:
                        found.append(int(entry))
                except OSError:
                    pass  # exited, or a zombie
        return sorted(found)

    def crash(self) -> None:
        """SIGKILL every process of the host; it stays down and its files are gone."""
        if self._ns_fd >= 0:
            # The anchor goes last so it reaps the rest; then pytest reaps the anchor.
            self._kill_until_gone(lambda: [p for p in self.pids() if p != self.anchor_pid])
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=KILL_DEADLINE)
        if self._ns_fd >= 0:
            self._kill_until_gone(self.pids)  # anything host.run() left behind and the anchor missed
            os.close(self._ns_fd)
            self._ns_fd = -1

    def _enter_namespace(self) -> None:
        """Take hold of the anchor's namespace (the anchor is our unreaped child: its pid is safe)."""
        self._ns_fd = os.open(f"/proc/{self.anchor_pid}/ns/mnt", os.O_RDONLY)
        self.mnt_ns = f"mnt:[{os.fstat(self._ns_fd).st_ino}]"

    def cut_ssh(self) -> None:
        """Stop sshd (listener and open sessions): a network cut. Everything else keeps running."""
        self._kill_until_gone(lambda: [p for p in self.pids() if _is_sshd(p)])

    def restore_ssh(self) -> None:
        """Start sshd again in the same namespace (impossible after crash())."""
        if any(_is_sshd(p) for p in self.pids()):
            return
        if self.anchor_pid not in self.pids():
            raise RuntimeError(f"{self.name} crashed; its namespace is gone")
        old = self.sshd_pid
        os.kill(self.anchor_pid, signal.SIGUSR1)
        self.sshd_pid = _wait_for_sshd(self, old_pid=old)

    def _kill_until_gone(self, select) -> None:
        """SIGKILL the selected processes until none is left and the anchor has reaped them."""
        killed: set[int] = set()
        deadline = time.monotonic() + KILL_DEADLINE
        while True:
            pids = select()
            killed.update(pids)
            unreaped = [p for p in killed if self._unreaped(p)]
            if not pids and not unreaped:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: processes survive SIGKILL: {pids or unreaped}")
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.005)

    def _unreaped(self, pid: int) -> bool:
        """Still exiting, or a zombie the anchor has yet to reap (not a reused pid, nor a zombie
        whose parent is outside the host: those are not the anchor's to reap)."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state == "Z":
            return int(ppid) == self.anchor_pid
        try:
            return os.readlink(f"/proc/{pid}/ns/mnt") == self.mnt_ns
        except OSError:
            return True  # between releasing its namespace and becoming a zombie


@dataclass
class Fleet:
    __test__ = False

    hosts: list[TestHost]
    client_key: Path  # ed25519 private key, no passphrase; root's key on every host
    known_hosts: Path  # every host's key
    workdir: Path
    _wrong_key: str = field(default="", repr=False)

    def host(self, name: str) -> TestHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def write_known_hosts(self, path, hosts=None, wrong_key_for=None) -> Path:
        """Write a known_hosts file for `hosts` (names or TestHosts; default all), giving the
        hosts in `wrong_key_for` (one or several) a key they do not have."""
        chosen = self.hosts if hosts is None else [self._resolve(h) for h in _as_list(hosts)]
        wrong = {self._resolve(h).name for h in _as_list(wrong_key_for)}
        lines = []
        for host in chosen:
            key = self._wrong_key if host.name in wrong else _public_key(self.workdir / host.name)
            lines.append(f"{_known_hosts_pattern(host)} {key}\n")
        path = Path(path)
        path.write_text("".join(lines))
        return path

    def stop(self) -> None:
        """Take every host down; crash() raises if a process of the host survives."""
        for host in self.hosts:
            host.crash()

    def _resolve(self, host) -> TestHost:
        return host if isinstance(host, TestHost) else self.host(host)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, TestHost)):
        return [value]
    return list(value)


def _known_hosts_pattern(host: TestHost) -> str:
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


def _public_key(host_dir: Path) -> str:
    """"ssh-ed25519 AAAA..." without the comment."""
    return " ".join((host_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2])


def _is_sshd(pid: int) -> bool:
    # OpenSSH >= 9.8 runs sessions as sshd-session, hence the prefix match
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("sshd")
    except OSError:
        return False


def _keygen(path: Path, comment: str) -> None:
    """An ed25519 key pair in OpenSSH's formats (path, path.pub), as `ssh-keygen -t ed25519 -N ''`
    writes it - made in-process: one ssh-keygen per host cost ~0.2 s on a busy machine, most of
    a 32-host fleet's start-up."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # sshd refuses readable keys
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    path.with_name(path.name + ".pub").write_bytes(public + b" " + comment.encode() + b"\n")


def _port_free(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _banner(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1) as conn:
            return conn.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def _holds_listener(pid: int, address: str, port: int) -> bool:
    """Whether process pid owns the socket listening on address:port."""
    # /proc/net/tcp prints the address as the in-memory (network order) u32 in native order.
    local = "%08X:%04X" % (struct.unpack("=I", socket.inet_aton(address))[0], port)
    inodes = {f"socket:[{fields[9]}]" for fields in map(str.split, Path("/proc/net/tcp").read_text().splitlines()[1:])
              if fields[1] == local and fields[3] == "0A"}
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _wait_for_sshd(host: TestHost, old_pid: int = 0) -> int:
    """Wait until this host's sshd answers; return its pid."""
    pid_file = Path(f"/proc/{host.anchor_pid}/root/run/fleet/sshd.pid")
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if host._proc is not None and host._proc.poll() is not None:
            break
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            pid = 0
        if pid and pid != old_pid:
            # The anchor wrote the file, so it has left the machine's namespace by now.
            if host._ns_fd < 0:
                host._enter_namespace()
            if not _in_namespace(pid, host.mnt_ns):
                break  # sshd exited: bad config, or the address was taken meanwhile
            # Another test session's sshd may have won the address: the banner must be ours.
            if _holds_listener(pid, host.address, host.port) and _banner(host.address, host.port):
                return pid
        time.sleep(0.005)
    raise RuntimeError(f"{host.name} ({host.address}:{host.port}) sshd did not start; "
                       f"log {host.log}:\n{host.log.read_text()[-2000:]}")


def _in_namespace(pid: int, mnt_ns: str) -> bool:
    """Whether pid lives in that mount namespace (one readlink, not a scan of /proc)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt") == mnt_ns
    except OSError:
        return False


def _kept_under_tmp() -> list[str]:
    """The checkout and the interpreter's prefixes, where they live under /tmp (outermost only)."""
    repo = Path(__file__).resolve().parents[2]
    candidates = {repo, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    under = sorted(str(p) for p in candidates if p.is_relative_to("/tmp") and p != Path("/tmp"))
    return [p for p in under if not any(p != q and Path(p).is_relative_to(q) for q in under)]


class _Factory:
    """Starts hosts on fresh loopback addresses; remembers them for session teardown."""

    def __init__(self, workdir: Path, sshd: str):
        self.workdir = workdir
        self.sshd = sshd
        self.next_address = FIRST_ADDRESS
        self.started: list[TestHost] = []
        self.fleets = 0
        self.client_key = workdir / "client_ed25519"
        _keygen(self.client_key, "fleet-client")
        _keygen(workdir / "wrong_ed25519", "fleet-wrong-host-key")
        self.wrong_key = " ".join((workdir / "wrong_ed25519.pub").read_text().split()[:2])
        self.extra_config = PENALTIES_OFF if _openssh_version(sshd) >= (9, 8) else ""
        # A listener on 0.0.0.0:22 (a system sshd) takes port 22 on every loopback address;
        # then hosts use other ports. This address is far beyond any we hand out.
        self.use_port_22 = _port_free("127.255.255.254", 22)
        self.kept = _kept_under_tmp()
        self.allocating = threading.Lock()

    def __call__(self, n: int) -> Fleet:
        self.fleets += 1
        fleet_dir = self.workdir / f"fleet{self.fleets}"
        fleet_dir.mkdir()
        # All launched first, a few at a time (fork+exec of a big pytest process is the slow part
        # on a busy machine), then awaited: the hosts start in parallel.
        with ThreadPoolExecutor(max_workers=LAUNCHERS) as pool:
            hosts = list(pool.map(lambda i: self._launch(f"host{i}", fleet_dir), range(1, n + 1)))
        hosts = [self._ready(host, fleet_dir) for host in hosts]
        fleet = Fleet(hosts, self.client_key, fleet_dir / "known_hosts", fleet_dir, _wrong_key=self.wrong_key)
        fleet.write_known_hosts(fleet.known_hosts)
        return fleet

    def _launch(self, name: str, fleet_dir: Path) -> TestHost:
        address, port = self._allocate()
        host_dir = fleet_dir / name
        host_dir.mkdir(exist_ok=True)
        if not (host_dir / "ssh_host_ed25519_key").exists():
            _keygen(host_dir / "ssh_host_ed25519_key", f"{name}-host-key")
        shutil.copy(self.client_key.with_suffix(".pub"), host_dir / "authorized_keys")
        (host_dir / "sshd_config").write_text(
            SSHD_CONFIG.format(address=address, port=port) + self.extra_config)
        log = fleet_dir / f"{name}.log"
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                ["unshare", "--mount", "sh", "-c", INIT, "fleet-init", str(host_dir), sys.executable, self.sshd,
                 *self.kept],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                env={**os.environ, "FLEET_ANCHOR": ANCHOR},
            )
        host = TestHost(name, address, port, "root", 0, proc.pid, "", log, _proc=proc)
        self.started.append(host)
        return host

    def _ready(self, host: TestHost, fleet_dir: Path, attempts: int = 5) -> TestHost:
        try:
            host.sshd_pid = _wait_for_sshd(host)
            return host
        except RuntimeError:
            host.crash()
            if attempts <= 1:
                raise
            # Another test session may have taken the address between our probe and sshd's bind.
            return self._ready(self._launch(host.name, fleet_dir), fleet_dir, attempts - 1)

    def _allocate(self) -> tuple[str, int]:
        with self.allocating:
            return self._next_free()

    def _next_free(self) -> tuple[str, int]:
        while True:
            address = str(self.next_address)
            self.next_address += 1
            if self.next_address.packed[3] == 255:
                self.next_address += 11  # on to .10 of the next /24
            if not self.next_address.is_loopback:
                raise RuntimeError("fleet: out of 127.0.0.0/8 addresses")
            port = 22 if self.use_port_22 else free_port(address)
            if _port_free(address, port):  # never an address still in use (here or elsewhere)
                return address, port

    def stop_all(self) -> None:
        errors = []
        for host in self.started:
            try:
                host.crash()
            except RuntimeError as error:
                errors.append(str(error))
        if errors:
            raise RuntimeError("fleet teardown left processes: " + "; ".join(errors))


def _openssh_version(sshd: str) -> tuple[int, int]:
    out = subprocess.run([sshd, "-V"], capture_output=True, text=True)
    match = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _check_system() -> str:
    """Return the sshd path, or skip (fail when strict) naming what is missing."""
    strict.need_root()
    sshd = strict.need_binary("sshd")
    strict.need_binary("unshare")
    strict.need_binary("nsenter")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        strict.missing(f"fleet hosts need mount namespaces: unshare --mount failed: {probe.stderr.strip()}")
    # Without PAM, sshd refuses every login to an account whose password field starts with "!".
    for line in Path("/etc/shadow").read_text().splitlines():
        if line.startswith("root:!"):
            strict.missing("fleet hosts need root's account unlocked (shadow password starts with '!')")
    return sshd


@pytest.fixture(scope="session")
def fleet_factory(tmp_path_factory):
    """fleet_factory(n) -> Fleet: n new sshd hosts on fresh 127.0.x.y addresses, all taken down
    at the end of the session (Fleet.stop() takes a fleet down earlier)."""
    factory = _Factory(tmp_path_factory.mktemp("fleet"), _check_system())
    yield factory
    factory.stop_all()


@pytest.fixture
def fleet3(fleet_factory):
    """Three fresh hosts for one test (tests crash and cut them)."""
    fleet = fleet_factory(3)
    yield fleet
    fleet.stop()

"""checks.preflight's TLS, load-balancer and clock-skew checks passing and failing for real: a local
TLS server whose certificate (from a test CA, trusted through SSL_CERT_FILE) expires in 2 or in 90
days; Debian's HAProxy with its runtime API on 127.0.0.1 versus a port where nothing listens and a
server that answers something else; a fleet host whose `date` runs under faketime, 2 minutes fast."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import haproxy as lb
from tests.support import invoke_fork, strict
from tests.support.envs import APP_ENV, REPO, fleet_environment, make_root
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


def invoke(root: Path, *args: str, env_extra: dict | None = None) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "CI": "true", **(env_extra or {})})
    proc = invoke_fork.run([sys.executable, "-m", "invoke", *args, "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def local_project(tmp_path: Path, **settings) -> Path:
    return make_root(tmp_path / "project", "t", {
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": {"dialect": "sqlite", "path": "db.sqlite"},
        "env": dict(APP_ENV),
        **settings,
    })


def items_of(doc: dict, section: str) -> list[tuple[str, str, str]]:
    return [(i["name"], i["status"], i["detail"]) for i in doc["items"] if i["section"] == section]


# -- TLS ---------------------------------------------------------------------------------------
def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


class TestCA:
    __test__ = False

    def __init__(self, folder: Path):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name("preflight test CA"))
                     .issuer_name(_name("preflight test CA")).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.path = folder / "ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def leaf(self, address: str, days: float) -> tuple[Path, Path]:
        """A server certificate for the IP address, valid from yesterday until `days` from now."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(_name(address)).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        cert_path, key_path = self.folder / f"{address}-{days}.pem", self.folder / f"{address}-{days}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path


class TLSServer:
    """A TLS listener on address:<free port> that completes handshakes and counts them."""

    def __init__(self, address: str, cert: Path, key: Path):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server((address, 0))
        self.sock.settimeout(0.2)
        self.url = f"https://{address}:{self.sock.getsockname()[1]}"
        self.handshakes = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True):
                        self.handshakes += 1
                except (OSError, ssl.SSLError):
                    pass

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def tls_server(tmp_path):
    """tls_server(address, days) -> a running TLSServer; the test CA's file is tls_server.ca."""
    ca = TestCA(tmp_path)
    servers: list[TLSServer] = []

    def start(address: str, days: float) -> TLSServer:
        server = TLSServer(address, *ca.leaf(address, days))
        servers.append(server)
        return server

    start.ca = ca.path
    yield start
    for server in servers:
        server.stop()


def test_tls_certificate_valid_for_90_days_passes_and_for_2_days_fails(tmp_path, tls_server):
    long_lived, expiring = tls_server("127.0.0.2", 90), tls_server("127.0.0.3", 2)
    trust = {"SSL_CERT_FILE": str(tls_server.ca)}

    root = local_project(tmp_path / "long", public_url=long_lived.url)
    code, doc = invoke(root, "checks.preflight", "--env", "t", "--only", "tls", env_extra=trust)
    assert code == 0, doc
    assert items_of(doc, "tls") == [("TLS certificate", "pass", "127.0.0.2: valid for 89 more days (min 14)")]
    assert long_lived.handshakes == 1

    root = local_project(tmp_path / "short", public_url=expiring.url)
    code, doc = invoke(root, "checks.preflight", "--env", "t", "--only", "tls", env_extra=trust)
    assert code == 1, doc
    assert items_of(doc, "tls") == [("TLS certificate", "fail", "127.0.0.3: valid for 1 more days (min 14)")]
    assert expiring.handshakes == 1

    # the same 90-day server from a machine that does not trust its CA: a failure, not a pass
    root = local_project(tmp_path / "untrusted", public_url=long_lived.url)
    code, doc = invoke(root, "checks.preflight", "--env", "t", "--only", "tls",
                       env_extra={"SSL_CERT_FILE": str(tmp_path / "no-such-ca.pem")})
    assert code == 1, doc
    [(name, status, detail)] = items_of(doc, "tls")
    assert status == "fail" and "CERTIFICATE_VERIFY_FAILED" in detail, detail


# -- load balancer -----------------------------------------------------------------------------

@pytest.fixture
def haproxy(tmp_path):
    """Debian's HAProxy with its runtime API on 127.0.0.1:<admin>; yields 'host:port'."""
    _front, admin, proc = lb.start(tmp_path, [f"server api-1 127.0.0.1:{free_port()}"])
    try:
        yield admin
    finally:
        lb.stop(proc)


def test_load_balancer_admin_reachable_passes_and_unreachable_fails(tmp_path, haproxy):
    version = subprocess.run([strict.need_binary("haproxy"), "-v"], capture_output=True, text=True).stdout.split()[2]
    root = local_project(tmp_path / "up", load_balancer=haproxy)
    code, doc = invoke(root, "checks.preflight", "--env", "t", "--only", "lb")
    assert code == 0, doc
    [(name, status, detail)] = items_of(doc, "lb")
    assert (name, status) == ("load balancer admin", "pass")
    assert detail.startswith(f"{haproxy}: HAProxy {version}"), detail   # `show info` answered, for real

    nobody = f"127.0.0.1:{free_port()}"
    root = local_project(tmp_path / "down", load_balancer=nobody)
    code, doc = invoke(root, "checks.preflight", "--env", "t", "--only", "lb")
    assert code == 1, doc
    [(name, status, detail)] = items_of(doc, "lb")
    assert status == "fail" and detail.startswith(f"{nobody}: ") and "refused" in detail, detail


def test_a_port_that_answers_but_is_not_haproxy_fails(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{server.getsockname()[1]}"

    def answer():
        conn, _ = server.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        root = local_project(tmp_path, load_balancer=address)
        code, doc = invoke(root, "checks.preflight", "--env", "t", "--only", "lb")
    finally:
        thread.join(10)
        server.close()
    assert code == 1, doc
    assert items_of(doc, "lb") == [("load balancer admin", "fail",
                                    f"{address}: answered, but not as HAProxy's runtime API")]


# -- clock skew --------------------------------------------------------------------------------
# Inside one host's own mount namespace only, `date` becomes a wrapper that runs the real one
# under faketime, 2 minutes fast: what preflight reads over ssh (`date +%s.%N`) is that host's clock.
FAST_DATE = """set -e
cp /usr/bin/date /run/fleet/date.real
printf '#!/bin/sh\\nexec faketime -f +120s /run/fleet/date.real "$@"\\n' > /run/fleet/date
chmod 755 /run/fleet/date
mount --bind /run/fleet/date /usr/bin/date
"""


def test_a_host_whose_clock_runs_2_minutes_fast_fails_preflight(tmp_path, fleet_factory):
    strict.need_binary("faketime")
    fleet = fleet_factory(2)
    try:
        fast, right = fleet.hosts
        fast.run(FAST_DATE)
        ahead = float(fast.run("date +%s.%N").stdout) - time.time()
        assert 115 < ahead < 125, ahead                      # the shift is this host's alone
        assert abs(float(right.run("date +%s.%N").stdout) - time.time()) < 5
        root = make_root(tmp_path / "project", "fleet", fleet_environment(fleet))
        code, doc = invoke(root, "checks.preflight", "--env", "fleet", "--only", "hosts")
    finally:
        fleet.stop()
    assert code == 1, doc
    skew = {name: (status, detail) for name, status, detail in items_of(doc, "hosts")
            if name.endswith(": clock skew")}
    status, detail = skew[f"{fast.name}: clock skew"]
    assert status == "fail" and detail.endswith("s (max ±5s)"), detail
    assert 115 < float(detail.split("s")[0]) < 125, detail
    assert skew[f"{right.name}: clock skew"][0] == "pass"

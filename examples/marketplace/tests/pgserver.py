"""A throwaway PostgreSQL cluster on a free loopback port (Debian's server binaries)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

from tests import support


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _odbc_driver_present() -> bool:
    try:
        import pyodbc
    except ImportError:
        return False
    return any("postgresql unicode" in d.lower() for d in pyodbc.drivers())


class PostgresServer:
    def __init__(self):
        bindir = _bindir()
        support.need(bindir is not None, "needs PostgreSQL server binaries (initdb, pg_ctl)")
        support.need(_odbc_driver_present(), "needs pyodbc and the 'PostgreSQL Unicode' ODBC driver (odbc-postgresql)")
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="mp-pg-")
        self.port = support.free_port()
        # initdb refuses to run as root; run the server as the postgres user then.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.dir, user="postgres")
        data = os.path.join(self.dir, "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.data = data
        self.start()

    def start(self) -> None:
        # -l matters beyond logging: without it the server keeps our stdout pipe open.
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "30", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self._as, os.path.join(self.bindir, tool), *args],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"{tool} failed: {result.stderr or result.stdout}")

    def odbc(self, database: str = "postgres") -> str:
        return (f"DRIVER={{PostgreSQL Unicode}};Server=127.0.0.1;Port={self.port};"
                f"Database={database};Uid=postgres;Pwd=unused-with-trust")

    def create_database(self, name: str) -> str:
        import pyodbc

        conn = pyodbc.connect(self.odbc(), autocommit=True)
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.odbc(name)

    def restart(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        self.start()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

"""`pip install` gives a working tool: the wheel built from this checkout carries the console
script and the shipped templates/, checks/ and sql/; installed into a fresh venv and run from a
folder outside the checkout it shows its version and every task.

Offline: the wheel is built without build isolation (setuptools from the test extras) and
installed with --no-index --no-deps; the fresh venv sees the dependencies through a .pth line to
this venv's site-packages (a .pth-added folder's own .pth files are not processed, so the
checkout's editable install does not leak in - the test checks where `deploy` is imported from).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import deploy

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def run(*argv, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "CI": "true", "LANG": "C.UTF-8"}
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory, worker_id):
    """(the wheel, the fresh venv, an empty folder outside the checkout of this test's own).

    Built once per test session: pytest-xdist workers share the session's temp folder, and the
    first one to take the lock builds while the others wait (two builds at once also collide in
    the checkout's build/ folder)."""
    session = tmp_path_factory.getbasetemp()
    session = session if worker_id == "master" else session.parent
    base = session / "packaging"
    base.mkdir(exist_ok=True)
    with open(session / "packaging.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "built").exists():
            build_and_install(base)
            (base / "built").touch()
    (wheel,) = (base / "wheels").glob("marketplace_deploy-*.whl")
    return wheel, base / "venv", tmp_path_factory.mktemp("elsewhere")


def build_and_install(base: Path) -> None:
    """The checkout's wheel in base/wheels, installed into the fresh venv base/venv."""
    wheels = base / "wheels"
    proc = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
               "--disable-pip-version-check", "-w", wheels, REPO, cwd=base)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = wheels.glob("marketplace_deploy-*.whl")
    venv = base / "venv"
    proc = run(sys.executable, "-m", "venv", venv, cwd=base)
    assert proc.returncode == 0, proc.stderr
    proc = run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--no-deps",
               "--disable-pip-version-check", wheel, cwd=base)
    assert proc.returncode == 0, proc.stderr
    site = Path(run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=base).stdout.strip())
    (site / "_marketplace_deploy_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def test_the_wheel_carries_the_shipped_files_and_the_script(installed):
    wheel, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for relative in ("templates/supervisor-program.conf.j2", "templates/report.html.j2", "checks/preflight.yaml",
                     "checks/smoke.yaml", "sql/postgres/migrations", "sql/mssql/monitoring",
                     "sql/sqlite/verify-aggregates.sql"):
        assert any(n.startswith(f"deploy/_shipped/{relative}") for n in names), relative
    for folder in ("templates", "checks", "sql"):
        shipped = {n.split(f"deploy/_shipped/{folder}/", 1)[1] for n in names
                   if n.startswith(f"deploy/_shipped/{folder}/")}
        in_repo = {str(p.relative_to(REPO / folder)) for p in (REPO / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
        assert shipped == in_repo, folder
    # every file of the package itself, .py or not (a host-side helper such as pm2_workers.js is
    # read from beside its module)
    package = {str(p.relative_to(REPO)) for p in (REPO / "deploy").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert package - set(names) == set()
    assert not [n for n in names if n.startswith(("tests/", "tasks.py", "examples/"))]
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "marketplace-deploy = deploy.cli.program:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_script_outside_the_checkout(installed):
    _, venv, outside = installed
    script = venv / "bin" / "marketplace-deploy"
    proc = run(script, "--version", cwd=outside)
    assert proc.returncode == 0 and proc.stdout.strip() == f"marketplace-deploy {deploy.__version__}", proc.stderr
    proc = run(script, "--list", "--list-format=json", cwd=outside)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert {"deploy", "lock", "db", "checks"} <= {c["name"] for c in listed["collections"]}
    where = run(venv / "bin" / "python", "-c", "import deploy.config.shipped as s; print(s.__file__); "
                "print(s.shipped('checks/smoke.yaml'))", cwd=outside).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    # no environments/ here: the current folder is the project, and the error says so (exit 2)
    proc = run(script, "status", cwd=outside)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: unknown environment 'local' (available: none)"
    proc = run(script, "deploy.phase5", cwd=outside)
    assert proc.returncode == 2 and "unknown task 'deploy.phase5'" in proc.stderr


def test_init_then_preflight_from_an_empty_folder(installed):
    _, venv, base = installed
    repo = base / "new-deploy-repo"
    repo.mkdir()
    script = venv / "bin" / "marketplace-deploy"
    proc = run(script, "init", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "environments" / "local.yaml").is_file() and (repo / "checks" / "smoke.yaml").is_file()
    assert (repo / "sql" / "postgres" / "migrations").is_dir()
    assert oct((repo / ".env").stat().st_mode & 0o777) == "0o600"
    assert (repo / ".env").read_text().startswith("JWT_SECRET=")
    # the project's own files win: init again keeps every file, edited or not
    (repo / "checks" / "smoke.yaml").write_text("# mine\n")
    proc = run(script, "init", cwd=repo)
    assert proc.returncode == 0 and "wrote 0 file(s)" in proc.stdout
    assert (repo / "checks" / "smoke.yaml").read_text() == "# mine\n"

    # the marketplace's database exists where the starter says; supervisorctl from the deps
    (repo / ".work" / "local").mkdir(parents=True)
    sqlite3.connect(repo / ".work" / "local" / "marketplace.db").close()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(repo), "CI": "true"}
    proc = subprocess.run([str(script), "checks.preflight", "--env", "local", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    doc = json.loads(proc.stdout)
    failed = [i for i in doc["items"] if i["status"] == "fail"]
    assert proc.returncode == 0 and not failed, (failed, proc.stderr)
    passed = {i["name"] for i in doc["items"] if i["status"] == "pass"}
    assert {"api: JWT_SECRET", "20240101000000_add_seller_ratings.sql", "local: reachable"} <= passed
    assert (repo / ".env").read_text().split("=", 1)[1].strip() not in proc.stdout + proc.stderr

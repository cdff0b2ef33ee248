"""The systemd units the adapter renders, checked by systemd itself: `systemd-analyze verify`
(Debian's systemd package; it reads the unit files, no running systemd needed). A unit is good
only when verify exits 0 and says nothing: systemd ignores a bad setting with a warning and exit 0.

The start commands are the repository's own (environments/local.yaml and staging.yaml), rendered
through releases.program_for and Systemd.config_files as a deploy renders them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.config import environment as config
from deploy.config.layers import load_layers
from deploy.process import Systemd
from deploy.releases.steps import program_for
from tests.support import strict
from tests.support.envs import APP_ENV, REPO, make_root

pytestmark = pytest.mark.integration


def verify(unit: Path) -> tuple[int, str]:
    """`systemd-analyze verify UNIT`: its exit code and everything it printed."""
    analyze = strict.need_binary("systemd-analyze")
    proc = subprocess.run([analyze, "verify", "--man=no", unit.name], cwd=unit.parent,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def systemd_environment(tmp_path: Path, name: str) -> config.Environment:
    """The named repository environment's apps (their real start commands) under systemd."""
    file = REPO / "environments" / f"{name}.yaml"   # with the base it extends
    source = load_layers(file, REPO, {"ROOT": str(REPO), "ENV": name}, config.read_yaml).raw
    apps = {app: {"process": spec["process"], "role": spec["role"], "source": str(REPO / "examples/marketplace"),
                  "start": spec["start"], "port": spec.get("port", 3000)}
            for app, spec in source["apps"].items()}
    root = make_root(tmp_path / name, "t", {
        "deploy_to": "/srv/marketplace",
        "hosts": [{"name": "box", "transport": "local", "roles": ["api", "web"]}],
        "process": {"manager": "systemd"},
        "database": {"dialect": "sqlite", "path": "db.sqlite"},
        "env": dict(APP_ENV),
        "apps": apps,
    })
    return config.load("t", root=root)


def rendered_units(env: config.Environment, folder: Path) -> list[Path]:
    """Every app's unit, as the adapter renders it, written under its own name into folder."""
    manager = Systemd()
    folder.mkdir(parents=True, exist_ok=True)
    units = []
    for app in env.apps:
        (unit,) = manager.config_files(program_for(env, app))
        path = folder / Path(unit.path).name
        path.write_text(unit.text)
        units.append(path)
    return units


@pytest.mark.parametrize("environment", ["local", "staging"])
def test_the_rendered_units_pass_systemd_analyze_verify(tmp_path, environment):
    env = systemd_environment(tmp_path, environment)
    units = rendered_units(env, tmp_path / "units")
    assert [u.name for u in units] == ["marketplace-api.service", "marketplace-web.service"]
    for unit in units:
        assert verify(unit) == (0, ""), unit.read_text()


BROKEN = [
    # (what the template gets wrong, the line replaced, its replacement, what systemd says)
    ("a restart policy systemd does not know", "Restart=on-failure", "Restart=sometimes",
     "Failed to parse service restart specifier"),
    ("a stop timeout that is not a time", "TimeoutStopSec={{ stopwaitsecs }}", "TimeoutStopSec=ten",
     "Failed to parse time value"),
    ("a misspelt section: no ExecStart at all", "[Service]", "[Servce]", "Unknown section 'Servce'"),
    ("a start command that does not exist", "ExecStart={{ command }}", "ExecStart=/nonexistent/bin/{{ app }}",
     "is not executable"),
]


@pytest.mark.parametrize("what, line, replacement, said", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_unit_fails_the_check(tmp_path, what, line, replacement, said):
    env = systemd_environment(tmp_path, "local")
    shipped = (REPO / "templates" / "systemd.service.j2").read_text()
    assert line in shipped.splitlines(), f"the shipped template has no line {line!r}"
    # a project root's templates/ overrides the shipped one by name (deploy/process/templates.py)
    (Path(env.root) / "templates").mkdir()
    (Path(env.root) / "templates" / "systemd.service.j2").write_text(shipped.replace(line, replacement))
    unit = rendered_units(env, tmp_path / "units")[0]
    assert replacement.split("=")[0] in unit.read_text()
    code, output = verify(unit)
    assert output and said in output, output
    assert (code, output) != (0, "")

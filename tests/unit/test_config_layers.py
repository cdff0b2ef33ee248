"""Environment files that extend a base, and the $DEPLOY_OVERLAY file merged over them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deploy.config import environment as config
from deploy.config.layers import OVERLAY_VAR, merge
from deploy.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

BASE = """
secrets: [TEST_JWT_SECRET]
hosts:
  - {name: h1, transport: local}
database: {dialect: sqlite, path: db.sqlite}
batches: {size: 50%, max_fail: 0}
env:
  JWT_SECRET: ${TEST_JWT_SECRET}
  LOG_LEVEL: info
rollout: {stages: [10, 25, 50, 100], stage_soak: 1h}
"""


@pytest.fixture(autouse=True)
def _no_overlay(monkeypatch):
    monkeypatch.delenv(OVERLAY_VAR, raising=False)
    monkeypatch.setenv("TEST_JWT_SECRET", "j" * 40)


def write(root: Path, relative: str, body: str) -> Path:
    file = root / "environments" / relative
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(textwrap.dedent(body))
    return file


def error_of(root: Path, name: str = "stage") -> str:
    with pytest.raises(ConfigError) as exc:
        config.load(name, root=root)
    assert exc.value.exit_code == 2 and "\n" not in str(exc.value)
    return str(exc.value)


def test_merge_takes_mappings_key_by_key_and_replaces_everything_else():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2], "s": "base"}
    over = {"a": {"y": {"q": 3}, "z": 4}, "l": [9], "s": "over"}
    assert merge(base, over) == {"a": {"x": 1, "y": {"p": 1, "q": 3}, "z": 4}, "l": [9], "s": "over"}
    assert base["a"]["y"] == {"p": 1, "q": 2}                     # inputs untouched


def test_a_file_extends_its_base_and_wins_key_by_key(tmp_path):
    write(tmp_path, "base/fleet.yaml", BASE)
    write(tmp_path, "stage.yaml", """
        extends: base/fleet.yaml
        description: stage
        env: {LOG_LEVEL: debug}
        rollout: {stage_soak: 10m}
    """)
    env = config.load("stage", root=tmp_path)
    assert env.description == "stage" and env.batches.size == "50%"
    assert env.env["LOG_LEVEL"] == "debug" and str(env.env["JWT_SECRET"]) == "***"   # the base's secret
    assert env.rollout.stage_soak == 600 and env.rollout.stages == (10, 25, 50, 100)
    assert env.layers == ("environments/base/fleet.yaml", "environments/stage.yaml")
    assert env.source_file == "environments/stage.yaml"
    assert config.available(tmp_path) == ["stage"]                 # a base in a folder is no environment


def test_bases_chain_and_a_list_is_replaced_whole(tmp_path):
    write(tmp_path, "base/root.yaml", BASE)
    write(tmp_path, "base/mid.yaml", "extends: root.yaml\nrollout: {stages: [50, 100]}\n")
    write(tmp_path, "stage.yaml", "extends: base/mid.yaml\nhosts: [{name: only, transport: local}]\n")
    env = config.load("stage", root=tmp_path)
    assert env.rollout.stages == (50, 100) and env.rollout.stage_soak == 3600
    assert [h.name for h in env.hosts] == ["only"]
    assert len(env.layers) == 3


def test_a_missing_base_is_named(tmp_path):
    write(tmp_path, "stage.yaml", "extends: base/nope.yaml\n")
    msg = error_of(tmp_path)
    assert msg.startswith("environments/stage.yaml: extends: base/nope.yaml does not exist")


@pytest.mark.parametrize("value", ["[a.yaml]", "''", "${ROOT}/a.yaml"])
def test_extends_must_be_one_path(tmp_path, value):
    write(tmp_path, "stage.yaml", f"extends: {value}\n")
    assert "extends: expected the path of a base file" in error_of(tmp_path)


def test_a_cycle_is_named_with_its_files(tmp_path):
    write(tmp_path, "base/a.yaml", "extends: b.yaml\n")
    write(tmp_path, "base/b.yaml", "extends: ../stage.yaml\n")
    write(tmp_path, "stage.yaml", "extends: base/a.yaml\n")
    msg = error_of(tmp_path)
    assert msg == ("environments/base/b.yaml: extends: a cycle: environments/stage.yaml -> "
                   "environments/base/a.yaml -> environments/base/b.yaml -> environments/stage.yaml")


def test_a_file_extending_itself_is_a_cycle(tmp_path):
    write(tmp_path, "stage.yaml", "extends: stage.yaml\n" + BASE)
    assert "extends: a cycle: environments/stage.yaml -> environments/stage.yaml" in error_of(tmp_path)


def test_a_bad_value_from_the_base_is_still_one_line_with_its_key(tmp_path):
    write(tmp_path, "base/fleet.yaml", BASE.replace("max_fail: 0", "max_fail: -1"))
    write(tmp_path, "stage.yaml", "extends: base/fleet.yaml\n")
    assert error_of(tmp_path).startswith("environments/stage.yaml: batches.max_fail:")


def test_secrets_lists_join_and_each_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_TOKEN", "t" * 20)
    write(tmp_path, "base/fleet.yaml", BASE)
    write(tmp_path, "stage.yaml", "extends: base/fleet.yaml\nsecrets: [STAGE_TOKEN]\nenv: {T: '${STAGE_TOKEN}'}\n")
    env = config.load("stage", root=tmp_path)
    assert set(env.secrets) == {"TEST_JWT_SECRET", "STAGE_TOKEN"} and str(env.env["T"]) == "***"
    write(tmp_path, "stage.yaml", "extends: base/fleet.yaml\nsecrets: [STAGE_TOKN]\n")
    assert "secrets: STAGE_TOKN listed but no ${...} uses it" in error_of(tmp_path)
    write(tmp_path, "stage.yaml", "extends: base/fleet.yaml\nsecrets: [ROOT]\n")
    assert "secrets: ROOT is set by the pipeline" in error_of(tmp_path)


def test_the_overlay_goes_over_everything_and_is_listed_last(tmp_path, monkeypatch):
    write(tmp_path, "base/fleet.yaml", BASE)
    write(tmp_path, "stage.yaml", "extends: base/fleet.yaml\nrollout: {stage_soak: 10m}\n")
    overlay = tmp_path / "twin.yaml"
    overlay.write_text("rollout: {stage_soak: 0}\nenv: {LOG_LEVEL: debug}\n")
    monkeypatch.setenv(OVERLAY_VAR, "twin.yaml")                 # relative to the project root
    env = config.load("stage", root=tmp_path)
    assert env.rollout.stage_soak == 0 and env.env["LOG_LEVEL"] == "debug"
    assert env.rollout.stages == (10, 25, 50, 100)
    assert env.layers == ("environments/base/fleet.yaml", "environments/stage.yaml", "twin.yaml")
    monkeypatch.setenv(OVERLAY_VAR, str(tmp_path / "nope.yaml"))
    msg = error_of(tmp_path)
    assert msg.startswith(f"{OVERLAY_VAR}: {tmp_path / 'nope.yaml'} is not a file")


def test_the_overlays_values_are_validated_like_the_files(tmp_path, monkeypatch):
    write(tmp_path, "stage.yaml", BASE)
    (tmp_path / "twin.yaml").write_text("batches: {sise: 1}\n")
    monkeypatch.setenv(OVERLAY_VAR, str(tmp_path / "twin.yaml"))
    assert error_of(tmp_path) == "environments/stage.yaml: batches.sise: unknown key"


def test_staging_and_production_share_one_base_and_differ_only_where_they_must(monkeypatch):
    """The shipped pair: everything but the per-environment keys comes from base/fleet.yaml."""
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    monkeypatch.setenv("DB_USER", "sa")
    monkeypatch.setenv("DB_PASSWORD", "pw-not-shown")
    staging, production = (config.load(name, root=REPO) for name in ("staging", "production"))
    for env in (staging, production):
        assert env.layers == ("environments/base/fleet.yaml", f"environments/{env.name}.yaml")
    own = {"name", "description", "public_url", "hosts", "database", "env", "rollout", "work_dir", "ssh",
           "source_file", "layers"}
    left, right = staging.model_dump(exclude=own), production.model_dump(exclude=own)
    assert left == right and left["apps"]["api"]["pm2"]["instances"] == 4
    assert staging.work_dir == ".work/staging" and production.ssh.known_hosts == "environments/known_hosts/production"
    assert staging.ssh.model_dump(exclude={"known_hosts"}) == production.ssh.model_dump(exclude={"known_hosts"})
    assert staging.database.backups == production.database.backups and staging.database.dialect == "mssql"
    assert set(staging.env) == set(production.env) and staging.secrets == production.secrets
    assert (staging.rollout.stages, staging.rollout.soak_after_api, production.rollout.soak_after_api) == \
        ((10, 25, 50, 100), 3600, 86400)

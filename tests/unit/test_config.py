"""Environment loading: layering, secrets, and every bad input as one line (exit 2)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deploy.config import environment as config
from deploy.errors import ConfigError
from deploy.secrets import Secret

MINIMAL = """
hosts:
  - {name: h1, transport: local}
database: {dialect: sqlite, path: db.sqlite}
"""


def make_root(tmp_path: Path, body: str, name: str = "test") -> Path:
    (tmp_path / "environments").mkdir(exist_ok=True)
    (tmp_path / "environments" / f"{name}.yaml").write_text(textwrap.dedent(body))
    return tmp_path


def load(tmp_path, body, monkeypatch=None, name="test"):
    return config.load(name, root=make_root(tmp_path, body, name))


def error_of(tmp_path, body) -> str:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, body)
    assert exc.value.exit_code == 2
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_minimal_environment_loads_with_defaults(tmp_path):
    env = load(tmp_path, MINIMAL)
    assert env.name == "test"
    assert env.hosts[0].transport == "local"
    assert env.batches.size == 1 and env.batches.max_fail == 0
    assert env.rollout.stages == (10, 25, 50, 100)


def test_unknown_environment_lists_available(tmp_path):
    make_root(tmp_path, MINIMAL)
    with pytest.raises(ConfigError, match=r"unknown environment 'nope' \(available: test\)"):
        config.load("nope", root=tmp_path)


def test_default_environment_comes_from_DEPLOY_ENV(tmp_path, monkeypatch):
    make_root(tmp_path, MINIMAL, name="ci")
    monkeypatch.setenv("DEPLOY_ENV", "ci")
    assert config.load(None, root=tmp_path).name == "ci"


def test_yaml_syntax_error_names_line(tmp_path):
    msg = error_of(tmp_path, "hosts:\n  - {name: h1\n database: x\n")
    assert msg.startswith("environments/test.yaml: line ")
    assert "YAML syntax error" in msg


def test_unknown_key_named_with_path(tmp_path):
    msg = error_of(tmp_path, MINIMAL + "batches: {size: 1, maxfail: 2}\n")
    assert msg == "environments/test.yaml: batches.maxfail: unknown key"


def test_host_without_address(tmp_path):
    msg = error_of(tmp_path, "hosts:\n  - {name: api-1}\ndatabase: {dialect: sqlite, path: x}\n")
    assert "hosts.0" in msg and "host 'api-1' has no address" in msg


def test_duplicate_host_names(tmp_path):
    body = """
    hosts:
      - {name: a, transport: local}
      - {name: a, transport: local}
    database: {dialect: sqlite, path: x}
    """
    assert "duplicate host name 'a'" in error_of(tmp_path, body)


def test_missing_secret_names_key_and_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_SECRET_XYZ", raising=False)
    msg = error_of(tmp_path, MINIMAL + "secrets: [NO_SUCH_SECRET_XYZ]\nenv:\n  JWT_SECRET: ${NO_SUCH_SECRET_XYZ}\n")
    assert msg == ("environments/test.yaml: env.JWT_SECRET: secret ${NO_SUCH_SECRET_XYZ} is not set "
                   "(export it or add it to .env)")


def test_secret_resolved_from_dotenv_and_masked(tmp_path, monkeypatch):
    monkeypatch.delenv("MY_TOKEN", raising=False)
    (tmp_path / ".env").write_text("MY_TOKEN=s3cr3t-value-123\n")
    env = load(tmp_path, MINIMAL + "secrets: [MY_TOKEN]\nenv:\n  TOKEN: ${MY_TOKEN}\n")
    value = env.env["TOKEN"]
    assert isinstance(value, Secret)
    assert value.reveal() == "s3cr3t-value-123"
    assert str(value) == "***" and repr(value) == "***" and f"{value}" == "***"
    assert "s3cr3t" not in repr(env)


def test_process_environment_overrides_dotenv(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("MY_TOKEN=from-dotenv\n")
    monkeypatch.setenv("MY_TOKEN", "from-process")
    env = load(tmp_path, MINIMAL + "secrets: [MY_TOKEN]\nenv:\n  TOKEN: ${MY_TOKEN}\n")
    assert env.env["TOKEN"].reveal() == "from-process"


def test_context_variables_are_not_secret(tmp_path):
    env = load(tmp_path, MINIMAL + "deploy_to: ${ROOT}/srv\n")
    assert env.deploy_to == f"{tmp_path}/srv"


def test_threshold_that_is_not_a_number(tmp_path):
    msg = error_of(tmp_path, MINIMAL + "batches: {size: 1, max_fail: lots}\n")
    assert msg.startswith("environments/test.yaml: batches.max_fail: ")


def test_batch_size_percentage_validated(tmp_path):
    assert load(tmp_path, MINIMAL + "batches: {size: 50%}\n").batches.size == "50%"
    assert "percentage" in error_of(tmp_path, MINIMAL + "batches: {size: 150%}\n")


def test_duration_parsing():
    assert config.parse_duration("24h") == 86400
    assert config.parse_duration("90m") == 5400
    assert config.parse_duration("250ms") == 0.25
    assert config.parse_duration(0) == 0
    with pytest.raises(ValueError):
        config.parse_duration("soon")


def test_known_hosts_must_exist_for_ssh_hosts(tmp_path):
    body = """
    ssh: {known_hosts: nowhere/known_hosts}
    hosts:
      - {name: api-1, address: 127.0.0.9}
    database: {dialect: sqlite, path: x}
    """
    msg = error_of(tmp_path, body)
    assert msg == f"environments/test.yaml: ssh.known_hosts: {tmp_path}/nowhere/known_hosts does not exist"


def test_unknown_dialect(tmp_path):
    msg = error_of(tmp_path, "hosts:\n  - {name: h, transport: local}\ndatabase: {dialect: oracle}\n")
    assert "unknown dialect 'oracle'" in msg


def test_shipped_environments_load(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    monkeypatch.setenv("DB_USER", "sa")              # SQL Server's own login: plain, any length
    monkeypatch.setenv("DB_PASSWORD", "pw-not-shown")
    root = Path(__file__).resolve().parents[2]
    for name in ("local", "staging", "production"):
        env = config.load(name, root=root)
        assert env.apps["api"].process == "marketplace-api"
        assert env.apps["web"].process == "marketplace-web"
    prod = config.load("production", root=root)
    assert prod.database.dialect == "mssql" and prod.database.name == "MARKETPLACE_DB"
    assert prod.apps["api"].port == 3000 and prod.process.manager == "pm2"
    assert prod.rollout.soak_after_api == 86400
    assert "pw-not-shown" not in str(prod.database.odbc)
    assert ";Uid=sa;Pwd=***;" in str(prod.database.odbc)
    assert prod.database.odbc.reveal().count("pw-not-shown") == 1
    assert "DB_PASSWORD" in prod.secrets and "JWT_SECRET" in prod.secrets and "DB_USER" not in prod.secrets


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    msg = error_of(tmp_path, MINIMAL + "database: {dialect: sqlite, path: other}\n")
    assert "key 'database' is given twice" in msg and "line " in msg


def test_the_secret_value_alone_is_masked_wherever_it_turns_up(tmp_path, monkeypatch):
    from deploy.secrets import mask
    monkeypatch.setenv("DB_PW_FOR_TEST", "Pa55word-only-here")
    load(tmp_path, MINIMAL + "secrets: [DB_PW_FOR_TEST]\nenv:\n  DATABASE_URL: Driver={X};Server=s;Pwd=${DB_PW_FOR_TEST}\n")
    assert mask("login failed for Pa55word-only-here") == "login failed for ***"


def test_a_secret_too_short_to_mask_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TINY_SECRET", "ab")
    assert "too short to be masked" in error_of(tmp_path, MINIMAL + "secrets: [TINY_SECRET]\nenv:\n  X: ${TINY_SECRET}\n")


@pytest.mark.parametrize("extra, expected", [
    ("database: {dialect: sqlite, path: x, backups: {run_on: nobody}}\n",
     "'nobody' is neither 'local' nor a host name"),
    ("hooks: {post_migrate: [{run: echo, app: ghost}]}\n", "'ghost' is not an app"),
])
def test_references_must_point_at_something(tmp_path, extra, expected):
    body = "hosts:\n  - {name: h1, transport: local}\n" + extra
    if "database" not in extra:
        body += "database: {dialect: sqlite, path: db.sqlite}\n"
    assert expected in error_of(tmp_path, body)


def test_hooks_env_is_plain_values_for_every_hooks_command_line(tmp_path, monkeypatch):
    from deploy.phases.database import _raw
    env = load(tmp_path, MINIMAL + "hooks:\n  env: {PRISMA_SCHEMA_ENGINE_BINARY: /bin/true, CHECKPOINT_DISABLE: 1}\n")
    assert env.hooks.env == {"PRISMA_SCHEMA_ENGINE_BINARY": "/bin/true", "CHECKPOINT_DISABLE": "1"}
    assert _raw("npx prisma generate", env.hooks.env).render() == \
        "env PRISMA_SCHEMA_ENGINE_BINARY=/bin/true CHECKPOINT_DISABLE=1 npx prisma generate"
    assert _raw("npx prisma generate", {}).render() == "npx prisma generate"
    monkeypatch.setenv("HOOK_TOKEN", "a-long-enough-secret")
    assert "a secret does not belong on a hook's command line" in error_of(
        tmp_path, MINIMAL + "secrets: [HOOK_TOKEN]\nhooks: {env: {T: '${HOOK_TOKEN}'}}\n")
    assert "hooks.env" in error_of(tmp_path, MINIMAL + "hooks: {env: {'NOT A NAME': x}}\n")


# -- plain values and declared secrets (issue 16) ----------------------------------------------
def test_a_plain_value_is_interpolated_as_it_is_and_never_masked(tmp_path, monkeypatch):
    from deploy.secrets import mask
    monkeypatch.setenv("DB_USER", "sa")
    env = load(tmp_path, MINIMAL + "env:\n  DB_USER: ${DB_USER}\n  REGION: eu-${DB_USER}\n")
    assert env.env["DB_USER"] == "sa" and type(env.env["DB_USER"]) is str
    assert env.env["REGION"] == "eu-sa"
    assert mask("usa and sa") == "usa and sa"        # a short plain value is not a masked word


def test_a_string_mixing_both_prints_its_plain_parts_and_masks_the_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_USER", "sa")
    monkeypatch.setenv("DB_PASSWORD", "Str0ng-enough")
    env = load(tmp_path, MINIMAL + "secrets: [DB_PASSWORD]\n"
               "env:\n  DATABASE_URL: sqlserver://h;user=${DB_USER};password=${DB_PASSWORD}\n")
    value = env.env["DATABASE_URL"]
    assert isinstance(value, Secret)
    assert str(value) == f"{value}" == repr(value) == "sqlserver://h;user=sa;password=***"
    assert value.reveal() == "sqlserver://h;user=sa;password=Str0ng-enough"
    assert "Str0ng" not in repr(env)


def test_a_short_secret_is_still_refused_but_a_short_plain_value_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_USER", "sa")
    monkeypatch.setenv("DB_PASSWORD", "pw")
    body = MINIMAL + "secrets: [DB_PASSWORD]\nenv:\n  URL: u=${DB_USER};p=${DB_PASSWORD}\n"
    assert error_of(tmp_path, body) == ("environments/test.yaml: env.URL: secret ${DB_PASSWORD} is shorter "
                                        "than 4 characters: too short to be masked in output")


@pytest.mark.parametrize("var, word", [("DB_PASSWORD", "PASSWORD"), ("JWT_SECRET", "SECRET"),
                                       ("SMOKE_TOKEN", "TOKEN"), ("ROUTING_KEY", "KEY"), ("api_key", "KEY")])
def test_a_variable_secret_by_name_but_referenced_as_plain_is_refused(tmp_path, monkeypatch, var, word):
    monkeypatch.setenv(var, "long-enough-value")
    msg = error_of(tmp_path, MINIMAL + f"env:\n  X: a-${{{var}}}\n")
    assert msg == (f"environments/test.yaml: env.X: ${{{var}}} looks like a secret ({word} in its name): "
                   "list it under `secrets:` so it is masked")


def test_a_plain_variable_under_an_env_key_that_is_secret_by_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_JWT", "long-enough-value")
    msg = error_of(tmp_path, MINIMAL + "env:\n  JWT_SECRET: ${TEST_JWT}\n")
    assert msg == ("environments/test.yaml: env.JWT_SECRET: JWT_SECRET looks like a secret (SECRET in its name) "
                   "but ${TEST_JWT} is plain: list it under `secrets:` so it is masked")
    monkeypatch.setenv("TEST_JWT", "long-enough-value")
    env = load(tmp_path, MINIMAL + "secrets: [TEST_JWT]\nenv:\n  JWT_SECRET: ${TEST_JWT}\n")
    assert str(env.env["JWT_SECRET"]) == "***"


@pytest.mark.parametrize("secrets, expected", [
    ("secrets: DB_PASSWORD\n", "secrets: expected a list of variable names"),
    ("secrets: [DB-PASSWORD]\n", "secrets: 'DB-PASSWORD' is not a variable name"),
    ("secrets: [ROOT]\n", "secrets: ROOT is set by the pipeline, not a secret"),
    ("secrets: [DB_PASWORD]\n", "secrets: DB_PASWORD listed but no ${...} uses it"),
])
def test_the_secrets_list_is_checked(tmp_path, secrets, expected):
    assert expected in error_of(tmp_path, MINIMAL + secrets)


def test_a_missing_plain_value_is_named_without_calling_it_a_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_USER_XYZ", raising=False)
    msg = error_of(tmp_path, MINIMAL + "env:\n  DB_USER: ${NO_SUCH_USER_XYZ}\n")
    assert msg == "environments/test.yaml: env.DB_USER: ${NO_SUCH_USER_XYZ} is not set (export it or add it to .env)"


def test_an_unset_secret_with_a_default_takes_the_files_default(tmp_path, monkeypatch):
    monkeypatch.delenv("DEPLOY_WEBHOOK_URL", raising=False)
    env = load(tmp_path, MINIMAL + 'secrets: [DEPLOY_WEBHOOK_URL]\nnotify: {webhooks: ["${DEPLOY_WEBHOOK_URL:-}"]}\n')
    assert env.notify.webhooks == ("",)

"""environments/<name>.yaml -> one validated, typed `Environment`.

Layering: the YAML file over the base files it `extends:` and under an overlay named by
$DEPLOY_OVERLAY (layers.py), then `${VAR}` references resolved from the process environment or an
untracked `.env` beside the project (the process environment wins, so CI's secret store is the
override). The file's top-level `secrets:` list says which variables are secrets (masked
everywhere); the others are plain values (refs.py). Validation happens once, here: an unknown
key, a wrong type, a missing secret or an unknown environment is a one-line `ConfigError` naming
the file and the key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from deploy.config.layers import load_layers
from deploy.config.refs import SECRETS_KEY, Resolver, unused_secrets
from deploy.errors import ConfigError
from deploy.secrets import Secret

DEFAULT_ENV = "local"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_COMPOUND = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*)+")


def project_root() -> Path:
    """The folder holding environments/: $DEPLOY_ROOT, else the nearest one up from cwd."""
    if os.environ.get("DEPLOY_ROOT"):
        return Path(os.environ["DEPLOY_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "environments").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def parse_duration(value: Any) -> float:
    """'24h', '90m', '30s', '250ms', '1h30m', 0 or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration like 30s, 15m, 24h or a number of seconds")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("must not be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if match:
        return float(match.group(1)) * _UNITS[match.group(2)]
    if _COMPOUND.fullmatch(str(value)):        # 1h30m, 2m30s, 1d 12h
        return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(str(value)))
    raise ValueError(f"{value!r} is not a duration (like 30s, 15m, 24h, 1h30m)")


Duration = Annotated[float, BeforeValidator(parse_duration)]
SecretOrStr = Union[Secret, str]


def _keep_secret(value: Any) -> Any:
    if isinstance(value, (Secret, str)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise ValueError("must be a string, number or ${SECRET} reference")


EnvValue = Annotated[SecretOrStr, BeforeValidator(_keep_secret)]


class Model(BaseModel):
    # defer_build: a model's validator is built when first used, not at import - each CLI call
    # imports every task module but validates only its own sections
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True, defer_build=True)


class SSHSettings(Model):
    user: str = "deploy"
    key_file: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    connect_timeout: Duration = 10
    command_timeout: Duration = 600
    # At most this many hosts worked on at once (as Ansible's forks): a batch of 32 hosts opens
    # 32 sessions, each with its reader threads, in this one process.
    parallel: int = Field(16, ge=1)


class HostConfig(Model):
    name: str = Field(min_length=1)
    address: str | None = None
    port: int = Field(22, ge=1, le=65535)
    user: str | None = None
    transport: Literal["ssh", "local"] = "ssh"
    roles: tuple[str, ...] = ("api", "web")

    @model_validator(mode="after")
    def _ssh_needs_address(self) -> "HostConfig":
        if self.transport == "ssh" and not self.address:
            raise ValueError(f"host {self.name!r} has no address")
        return self


class Batches(Model):
    size: int | str = 1
    max_fail: int = Field(0, ge=0)

    @field_validator("size")
    @classmethod
    def _size(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 1:
                raise ValueError("must be at least 1")
            return value
        match = re.fullmatch(r"(\d{1,3})%", value.strip())
        if not match or not 1 <= int(match.group(1)) <= 100:
            raise ValueError(f"{value!r} is neither a host count nor a percentage like 50%")
        return value.strip()


class BackupSettings(Model):
    dir: str = ".work/backups"
    keep: int = Field(5, ge=1)
    # postgres: where pg_dump runs - "local" (the operator's machine) or a host name
    run_on: str = "local"


class DatabaseConfig(Model):
    dialect: Literal["sqlite", "postgres", "mssql"]
    path: str | None = None           # sqlite: the database file
    odbc: SecretOrStr | None = None   # postgres/mssql: an ODBC connection string
    name: str | None = None           # postgres/mssql: database name (backups, display)
    server: str | None = None         # display only (host:port)
    connect_timeout: Duration = 15
    query_timeout: Duration = 600
    tunnel_via: str | None = None     # reach the database through SSH on this host
    backups: BackupSettings = BackupSettings()

    @field_validator("dialect", mode="before")
    @classmethod
    def _dialect(cls, value: Any) -> Any:
        if value not in ("sqlite", "postgres", "mssql"):
            raise ValueError(f"unknown dialect {value!r} (use sqlite, postgres or mssql)")
        return value

    @model_validator(mode="after")
    def _where(self) -> "DatabaseConfig":
        if self.dialect == "sqlite" and not self.path:
            raise ValueError("sqlite needs path")
        if self.dialect != "sqlite" and self.odbc is None:
            raise ValueError(f"{self.dialect} needs odbc (an ODBC connection string)")
        return self


class AppCommands(Model):
    """The app's own commands, run from its source folder (runbook: npm test, tsc, build)."""

    test: str | None = None
    typecheck: str | None = None
    build: str | None = None


def _instances(value: Any) -> int | str:
    if isinstance(value, str) and value.strip() == "max":
        return "max"
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit() \
            or int(value) < 1:
        raise ValueError(f"{value!r} is neither a positive number nor 'max'")
    return int(value)


class Pm2App(Model):
    """How pm2 runs one app (the runbook's ecosystem: instances 4, cluster, 1G, log files)."""

    instances: Annotated[int | str, BeforeValidator(_instances)] = 1
    exec_mode: Literal["cluster", "fork"] = "fork"
    max_memory_restart: str | None = Field(None, pattern=r"^[1-9][0-9]*[KMG]$")   # e.g. 1G, 512M
    log_date_format: str | None = Field(None, min_length=1)   # e.g. YYYY-MM-DD HH:mm:ss Z
    error_file: str | None = Field(None, min_length=1)        # relative: under shared/logs
    out_file: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _fork_runs_one(self) -> "Pm2App":
        if self.exec_mode == "fork" and self.instances != 1:
            raise ValueError(f"fork mode runs one process (instances: {self.instances}); set exec_mode: cluster")
        return self


class AppConfig(Model):
    process: str = Field(min_length=1)      # process-manager name, e.g. marketplace-api
    role: str                               # hosts with this role run the app
    source: str                             # the app's source folder (relative to the root)
    start: str                              # the command the process manager runs, in current/
    port: int = Field(ge=1, le=65535)
    health_path: str = "/health"
    mode: Literal["process", "static", "command"] = "process"
    commands: AppCommands = AppCommands()
    env: dict[str, EnvValue] = {}
    pm2: Pm2App | None = None               # pm2 only: cluster mode, memory limit, log files
    alt_port: int | None = Field(None, ge=1, le=65535)  # side-by-side: the second slot's port

    @model_validator(mode="after")
    def _alt_port_differs(self) -> "AppConfig":
        if self.alt_port is not None and self.alt_port == self.port:
            raise ValueError(f"alt_port: {self.alt_port} is the app's port; the second slot needs its own")
        return self

    @model_validator(mode="after")
    def _cluster_runs_node(self) -> "AppConfig":
        if self.pm2 and self.pm2.exec_mode == "cluster":
            words = self.start.split()
            if len(words) < 2 or words[0].rsplit("/", 1)[-1] != "node":
                raise ValueError("start: pm2 cluster mode runs a Node script: "
                                 "start must be 'node [node options] SCRIPT [args]'")
        return self


class ProcessSettings(Model):
    manager: Literal["supervisor", "pm2", "systemd"] = "supervisor"
    # supervisor: the supervisord config on each host; pm2: PM2_HOME on each host
    supervisor_conf: str | None = None
    bin_dir: str | None = None        # supervisord, supervisorctl and their python3, when not on the PATH
    pm2_home: str | None = None
    pm2_bin: str = "pm2"


class Hook(Model):
    """A command run after a step: `where` is local (the operator's machine, in the app's source
    folder) or a role (on those hosts, in the app's current release)."""

    run: str = Field(min_length=1)
    where: str = "local"
    app: str = "api"
    timeout: Duration = 600


def _plain_value(value: Any) -> Any:
    if isinstance(value, Secret):
        raise ValueError("a secret does not belong on a hook's command line (give it to the app's env)")
    return _keep_secret(value)


class Hooks(Model):
    """`post_migrate` runs after phase 1's migrations; `env` is extra environment for every hook's
    command (e.g. what an offline host's Prisma CLI needs), plain values only."""

    post_migrate: tuple[Hook, ...] = ()
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")],
              Annotated[str, BeforeValidator(_plain_value)]] = {}


class AlertmanagerSettings(Model):
    """Alerts through Alertmanager: `monitor.alertmanager-config` renders its receivers and routes
    from this, `monitor.alerts` posts the database alerts to `url`. An empty value (an unset
    "${VAR:-}") means "not configured"; webhook, routing key and a URL with credentials are secrets."""

    url: SecretOrStr | None = None                     # its HTTP API, e.g. http://alertmanager:9093
    slack_webhook: SecretOrStr | None = None           # Slack incoming webhook: every alert
    slack_channel: str | None = None                   # default: the webhook's own channel
    pagerduty_routing_key: SecretOrStr | None = None   # Events API v2 integration key: critical alerts
    pagerduty_url: str | None = None                   # default: PagerDuty's Events API v2 endpoint
    group_wait: Duration = 30
    group_interval: Duration = 300
    repeat_interval: Duration = 4 * 3600
    expire_after: Duration = Field(3600, gt=0)         # a posted database alert not posted again resolves


class NotifySettings(Model):
    """Where phase messages go: Slack-compatible incoming webhooks (URLs are usually secrets)."""

    webhooks: tuple[SecretOrStr, ...] = ()
    alertmanager: AlertmanagerSettings = AlertmanagerSettings()
    timeout: Duration = 5
    on: tuple[Literal["started", "succeeded", "failed", "undone"], ...] = (
        "started", "succeeded", "failed", "undone")


class ClientCommand(Model):
    """One of the database client's commands (runbook: npx prisma generate / db push / studio)."""

    run: str = Field(min_length=1)
    where: str = "local"
    app: str = "api"
    timeout: Duration = 600
    refuse: str | None = None      # a reason: the command is refused in this environment


class RolloutSettings(Model):
    flag: str = "rating"
    stages: tuple[int, ...] = (10, 25, 50, 100)
    soak_after_api: Duration = 0
    stage_soak: Duration = 0
    observe: Duration | None = None          # window judged after each change (None: checks/rollout.yaml)
    metrics: Literal["probe", "prometheus"] | None = None   # gate source (None: checks/rollout.yaml)
    prometheus_url: SecretOrStr | None = None               # for the prometheus source

    @field_validator("stages")
    @classmethod
    def _stages(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or list(value) != sorted(set(value)) or value[0] < 1 or value[-1] > 100:
            raise ValueError("stages must rise strictly within 1..100")
        return value


class Environment(Model):
    name: str
    secrets: tuple[str, ...] = ()     # the variables that are secrets (the file's `secrets:` list)
    description: str = ""
    work_dir: str = ".work"
    deploy_to: str = "/srv/marketplace"
    keep_releases: int = Field(5, ge=2)
    public_url: str | None = None
    load_balancer: str | None = None  # host:port of the LB's admin endpoint
    # how a release replaces the running one: in_place (drain, restart, ready, host by host) or
    # side_by_side (boot beside it on apps.<app>.alt_port, then the LB moves); unset: side_by_side
    # when a load balancer is configured and the app has an alt_port, else in_place
    switch: Literal["side_by_side", "in_place"] | None = None
    ssh: SSHSettings = SSHSettings()
    hosts: tuple[HostConfig, ...] = Field(min_length=1)
    batches: Batches = Batches()
    process: ProcessSettings = ProcessSettings()
    database: DatabaseConfig
    env: dict[str, EnvValue] = {}
    apps: dict[str, AppConfig] = {}
    rollout: RolloutSettings = RolloutSettings()
    hooks: Hooks = Hooks()
    notify: NotifySettings = NotifySettings()
    db_client: dict[str, ClientCommand] = {}

    # set by the loader, not by the file
    source_file: str = ""
    layers: tuple[str, ...] = ()      # the files merged into it: bases, the file, an overlay
    root: str = ""

    @model_validator(mode="after")
    def _unique_hosts(self) -> "Environment":
        seen: set[str] = set()
        for host in self.hosts:
            if host.name in seen:
                raise ValueError(f"duplicate host name {host.name!r}")
            seen.add(host.name)
        return self

    @model_validator(mode="after")
    def _references(self) -> "Environment":
        """Names that point elsewhere in the file must point at something."""
        names = {h.name for h in self.hosts}
        roles = {r for h in self.hosts for r in h.roles}
        run_on = self.database.backups.run_on
        if run_on != "local" and run_on not in names:
            raise ValueError(f"database.backups.run_on: {run_on!r} is neither 'local' nor a host name")
        if self.database.tunnel_via and self.database.tunnel_via not in names:
            raise ValueError(f"database.tunnel_via: {self.database.tunnel_via!r} is not a host name")
        for name, client in self.db_client.items():
            if client.app not in self.apps:
                raise ValueError(f"db_client.{name}.app: {client.app!r} is not an app of this environment")
            if client.where != "local" and client.where not in roles:
                raise ValueError(f"db_client.{name}.where: no host has the role {client.where!r}")
        for i, hook in enumerate(self.hooks.post_migrate):
            if hook.app not in self.apps:
                raise ValueError(f"hooks.post_migrate.{i}.app: {hook.app!r} is not an app of this environment")
            if hook.where != "local" and hook.where not in roles:
                raise ValueError(f"hooks.post_migrate.{i}.where: no host has the role {hook.where!r} "
                                 "(use 'local' or a role)")
        return self

    @model_validator(mode="after")
    def _side_by_side_needs_lb(self) -> "Environment":
        if self.switch == "side_by_side" and not self.load_balancer:
            raise ValueError("switch: side_by_side moves traffic at the load balancer: set load_balancer")
        return self

    @model_validator(mode="after")
    def _only_the_api_has_a_second_slot(self) -> "Environment":
        # the load balancer fronts the API only (phase 3 releases the web app in place, its
        # context has no LB): a second slot elsewhere would be half used - refused, not ignored
        for name, app in self.apps.items():
            if name != "api" and app.alt_port is not None:
                raise ValueError(f"apps.{name}.alt_port: only the API releases side by side (the load "
                                 f"balancer fronts the API only); remove it")
        return self

    @model_validator(mode="after")
    def _pm2_settings_need_pm2(self) -> "Environment":
        for name, app in self.apps.items():
            if app.pm2 is not None and self.process.manager != "pm2":
                raise ValueError(f"apps.{name}.pm2: needs process.manager pm2 (it is {self.process.manager})")
        return self

    # -- helpers that read the model ---------------------------------------------------------
    def path(self, value: str) -> Path:
        """A configured path, relative to the project root unless absolute; ~ expanded."""
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else Path(self.root) / p

    def hosts_with(self, role: str) -> list[HostConfig]:
        return [h for h in self.hosts if role in h.roles]

    def app_env(self, app: str) -> dict[str, SecretOrStr]:
        """The env file contents for one app: shared env, then the app's own."""
        return {**self.env, **self.apps[app].env}


# -- loading -----------------------------------------------------------------------------------
def available(root: Path | None = None) -> list[str]:
    root = root or project_root()
    return sorted(p.stem for p in (root / "environments").glob("*.yaml"))


def load(name: str | None = None, root: Path | None = None) -> Environment:
    """Load and validate one environment; raise ConfigError with one line on any problem."""
    root = root or project_root()
    name = name or os.environ.get("DEPLOY_ENV") or DEFAULT_ENV
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigError(f"environment name {name!r} is not valid")
    file = root / "environments" / f"{name}.yaml"
    shown = f"environments/{name}.yaml"
    if not file.is_file():
        names = ", ".join(available(root)) or "none"
        raise ConfigError(f"unknown environment {name!r} (available: {names})")
    context = {"ROOT": str(root), "ENV": name}
    layered = load_layers(file, root, context, read_yaml)   # extends: bases, $DEPLOY_OVERLAY
    raw, secrets = layered.raw, layered.secrets
    unused = unused_secrets(raw, secrets)
    if unused:
        raise ConfigError(f"{shown}: {SECRETS_KEY}: {', '.join(unused)} listed but no ${{...}} uses it "
                          "(a misspelt name leaves the real one unmasked)")
    resolved = Resolver(_variables(root), context, secrets, shown).resolve(raw)
    resolved[SECRETS_KEY] = sorted(secrets)
    resolved.setdefault("name", name)
    resolved["source_file"] = shown
    resolved["layers"] = list(layered.files)
    resolved["root"] = str(root)
    env = validate(Environment, resolved, shown)
    _check_files(env, shown)
    return env


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that refuses a key given twice in one mapping (the last would silently win).

    On libyaml's parser when PyYAML has it (the same safe constructors; a tenth of the pure-Python
    parser's CPU, which every task paid for each file it reads)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def read_yaml(file: Path, shown: str) -> Any:
    try:
        return yaml.load(file.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}:{where}: YAML syntax error: {problem}") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror}") from None


def validate(model: type[BaseModel], data: Any, shown: str) -> Any:
    """model.model_validate with the first error turned into one line naming file and key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{shown}: {key}: {msg}") from None


def _variables(root: Path) -> dict[str, str]:
    """The values ${VAR} can take: .env beside the project, overridden by the process environment."""
    dotenv_file = root / ".env"
    values: dict[str, str] = {}
    if dotenv_file.is_file():
        from dotenv import dotenv_values  # here: python-dotenv loads logging and more, a project without .env needs none

        values = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None}
    values.update(os.environ)
    return values


def _check_files(env: Environment, shown: str) -> None:
    if any(h.transport == "ssh" for h in env.hosts):
        known = env.path(env.ssh.known_hosts)
        if not known.is_file():
            raise ConfigError(f"{shown}: ssh.known_hosts: {known} does not exist")
        if env.ssh.key_file and not env.path(env.ssh.key_file).is_file():
            raise ConfigError(f"{shown}: ssh.key_file: {env.path(env.ssh.key_file)} does not exist")
    for app_name, app in env.apps.items():
        if not env.path(app.source).is_dir():
            raise ConfigError(f"{shown}: apps.{app_name}.source: {app.source} is not a folder")

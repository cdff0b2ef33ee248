"""Process-manager adapters: config files rendered from templates/, exact restart/stop commands."""

import configparser
import json
import shlex

import pytest

from deploy.config.environment import ProcessSettings
from deploy.process import Pm2, Supervisor, Systemd, for_settings
from deploy.process.base import Program
from deploy.process.supervisor import rpc_source
from deploy.process.templates import envquote, render

PROGRAM = Program(
    app="api", process="marketplace-api",
    command="/opt/venv/bin/python -m marketplace.api --env-file /srv/marketplace/api/shared/api.env",
    directory="/srv/marketplace/api/current", env_file="/srv/marketplace/api/shared/api.env",
    log_dir="/srv/marketplace/api/shared/logs", shared_dir="/srv/marketplace/api/shared")
CONF = "/srv/marketplace/supervisor/supervisord.conf"


def ini(text):
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def test_supervisor_config_files():
    daemon, program = Supervisor(CONF).config_files(PROGRAM)
    assert daemon.path == CONF and program.path == "/srv/marketplace/supervisor/programs/marketplace-api.conf"
    d = ini(daemon.text)
    assert d["unix_http_server"]["file"] == "/srv/marketplace/supervisor/supervisor.sock"
    assert d["supervisorctl"]["serverurl"] == "unix:///srv/marketplace/supervisor/supervisor.sock"
    assert d["supervisord"]["pidfile"] == "/srv/marketplace/supervisor/supervisord.pid"
    assert d["include"]["files"] == "/srv/marketplace/supervisor/programs/*.conf"
    p = ini(program.text)["program:marketplace-api"]
    assert p["command"] == PROGRAM.command
    assert p["directory"] == "/srv/marketplace/api/current"
    assert p["autorestart"] == "true" and p["stopasgroup"] == "true" and p["killasgroup"] == "true"
    assert p["stdout_logfile"] == "/srv/marketplace/api/shared/logs/marketplace-api.out.log"
    assert p["stderr_logfile"] == "/srv/marketplace/api/shared/logs/marketplace-api.err.log"
    assert p["startsecs"] == "1"


def test_supervisor_escapes_percent_signs():
    odd = Program(**{**PROGRAM.__dict__, "command": "run --fmt %d"})
    assert "command=run --fmt %%d" in Supervisor(CONF).config_files(odd)[1].text


def test_supervisor_commands_exact():
    sv = Supervisor(CONF)
    sock = "/srv/marketplace/supervisor/supervisor.sock"
    script = shlex.quote(rpc_source())
    assert [c.render() for c in sv.restart_commands(PROGRAM)] == [
        f"python3 -I -S -c {script} restart marketplace-api {CONF} {sock} supervisord"]
    assert sv.stop_command(PROGRAM).render() == f"python3 -I -S -c {script} stop marketplace-api {CONF} {sock}"
    # logs, --json and --dry-run show the script by its name, not its text
    assert str(sv.restart_commands(PROGRAM)[0]) == (
        f"python3 -I -S -c <supervisor_rpc.py> restart marketplace-api {CONF} {sock} supervisord")
    assert sv.directories(PROGRAM) == ["/srv/marketplace/supervisor/programs", PROGRAM.log_dir]


def test_supervisor_binaries_from_a_bin_dir():
    sv = Supervisor(CONF, bin_dir="/work/main/.venv/bin")
    assert str(sv.restart_commands(PROGRAM)[0]) == (
        f"/work/main/.venv/bin/python3 -I -S -c <supervisor_rpc.py> restart marketplace-api {CONF} "
        f"/srv/marketplace/supervisor/supervisor.sock /work/main/.venv/bin/supervisord")
    assert str(sv.status_command([])) == (
        f"/work/main/.venv/bin/python3 -I -S -c <supervisor_rpc.py> status {CONF} "
        f"/srv/marketplace/supervisor/supervisor.sock")


def test_for_settings_reads_the_bin_dir():
    manager = for_settings(ProcessSettings(manager="supervisor", bin_dir="/opt/sv/bin"), CONF)
    assert manager.binary == "/opt/sv/bin/supervisord"
    assert for_settings(ProcessSettings(manager="supervisor"), CONF).binary == "supervisord"
    assert manager.ctl("status").render() == f"/opt/sv/bin/supervisorctl -c {CONF} status"


def test_pm2_ecosystem_and_commands():
    pm2 = Pm2("/opt/node/bin/pm2", "/run/pm2")
    (eco,) = pm2.config_files(PROGRAM)
    assert eco.path == "/srv/marketplace/api/shared/ecosystem.marketplace-api.json"
    (app,) = json.loads(eco.text)["apps"]
    assert app["name"] == "marketplace-api"
    assert app["script"] == "/opt/venv/bin/python"
    assert app["args"] == ["-m", "marketplace.api", "--env-file", "/srv/marketplace/api/shared/api.env"]
    assert app["cwd"] == "/srv/marketplace/api/current" and app["interpreter"] == "none"
    assert app["out_file"] == "/srv/marketplace/api/shared/logs/marketplace-api.out.log"
    assert [c.render() for c in pm2.restart_commands(PROGRAM)] == [
        "env PM2_HOME=/run/pm2 /opt/node/bin/pm2 startOrReload "
        "/srv/marketplace/api/shared/ecosystem.marketplace-api.json --update-env"]
    assert pm2.stop_command(PROGRAM).render() == "env PM2_HOME=/run/pm2 /opt/node/bin/pm2 delete marketplace-api"
    assert Pm2().restart_commands(PROGRAM)[0].render().startswith("pm2 startOrReload ")


def test_pm2_quotes_arguments_with_spaces():
    odd = Program(**{**PROGRAM.__dict__, "command": "node 'dist/my index.js' --port 3000"})
    (app,) = json.loads(Pm2().config_files(odd)[0].text)["apps"]
    assert app["script"] == "node" and app["args"] == ["dist/my index.js", "--port", "3000"]


def test_systemd_unit_and_commands():
    sd = Systemd()
    (unit,) = sd.config_files(PROGRAM)
    assert unit.path == "/etc/systemd/system/marketplace-api.service"
    u = ini(unit.text)
    assert u["Service"]["ExecStart"] == PROGRAM.command
    assert u["Service"]["WorkingDirectory"] == "/srv/marketplace/api/current"
    assert u["Service"]["Restart"] == "on-failure"
    assert u["Install"]["WantedBy"] == "multi-user.target"
    assert [c.render() for c in sd.restart_commands(PROGRAM)] == [
        "systemctl daemon-reload", "systemctl enable --quiet marketplace-api.service",
        "systemctl restart marketplace-api.service"]
    assert sd.stop_command(PROGRAM).render() == "systemctl stop marketplace-api.service"


@pytest.mark.parametrize("value, written", [
    ("production", "production"),
    ("sqlite:////srv/x.db", "sqlite:////srv/x.db"),
    ("DRIVER={PostgreSQL Unicode};Server=db", "'DRIVER={PostgreSQL Unicode};Server=db'"),
    ("it's", '"it\'s"'),
    ("a\"b\\c", "'a\"b\\c'"),
    ("***", "***"),
    ("", ""),
])
def test_envquote_writes_what_dotenv_reads_back(value, written):
    assert envquote(value) == written


def test_env_template_renders_each_value():
    text = render("env.j2", None, app="api", host="h1", values={"A": "1", "B": "two words"})
    assert text.splitlines()[-2:] == ["A=1", "B='two words'"]
    assert text.startswith("# api environment")


def test_supervisor_socket_stays_short_enough_for_a_unix_socket():
    assert Supervisor(CONF).socket == "/srv/marketplace/supervisor/supervisor.sock"
    deep = "/tmp/" + "d" * 120 + "/supervisor/supervisord.conf"
    socket = Supervisor(deep).socket
    assert socket.startswith("/tmp/deploy-supervisor-") and len(socket) < 100
    assert Supervisor(deep).socket == socket            # stable: status finds the same daemon

"""`invoke logs`, the pure parts: each adapter's log command (exact), what its output holds,
host selection, line cleaning and the printed form."""

import io
import json
import sys
import types
from unittest import mock
from datetime import datetime, timezone

import pytest

from deploy.operate import logs
from deploy.config.environment import Environment
from deploy.errors import ConfigError
from deploy.process import Pm2, Supervisor, Systemd
from deploy.process.base import Program
from deploy.process.supervisor import LOG_LINE_BYTES, LOG_SEPARATOR, rpc_source
from deploy.secrets import Secret

PROGRAM = Program(
    app="api", process="marketplace-api", command="/opt/venv/bin/python -m marketplace.api",
    directory="/srv/marketplace/api/current", env_file="/srv/marketplace/api/shared/api.env",
    log_dir="/srv/marketplace/api/shared/logs", shared_dir="/srv/marketplace/api/shared")
CONF = "/srv/marketplace/supervisor/supervisord.conf"
LOGS = "/srv/marketplace/api/shared/logs"


# -- commands ---------------------------------------------------------------------------------------
def test_supervisor_log_commands_exact():
    sv = Supervisor(CONF, "/opt/venv/bin")
    # one stdlib python3 asks supervisord for both logs (as `supervisorctl tail -BYTES` does)
    assert str(sv.log_command(PROGRAM, 100)) == (
        f"/opt/venv/bin/python3 -I -S -c <supervisor_rpc.py> tail marketplace-api {CONF} "
        f"/srv/marketplace/supervisor/supervisor.sock {100 * LOG_LINE_BYTES} {LOG_SEPARATOR}")
    # following reads the files the program file names (supervisorctl tail -f has no --lines)
    assert sv.log_command(PROGRAM, 20, follow=True).render() == (
        f"tail -q -n 20 -F {LOGS}/marketplace-api.out.log {LOGS}/marketplace-api.err.log")
    unit = sv.config_files(PROGRAM)[1].text
    assert f"stdout_logfile={PROGRAM.log_file('out')}" in unit
    assert f"stderr_logfile={PROGRAM.log_file('err')}" in unit


def test_pm2_log_commands_exact():
    pm2 = Pm2("/opt/pm2/bin/pm2", "/run/pm2")
    assert pm2.log_command(PROGRAM, 100).render() == (
        "env PM2_HOME=/run/pm2 /opt/pm2/bin/pm2 logs marketplace-api --lines 100 --raw --nostream")
    # following reads the files (`pm2 logs` would lose the lines between its tail and its bus)
    assert pm2.log_command(PROGRAM, 5, follow=True).render() == (
        f"tail -q -n 5 -F {LOGS}/marketplace-api.out.log {LOGS}/marketplace-api.err.log")
    assert Pm2().log_command(PROGRAM, 1).render() == "pm2 logs marketplace-api --lines 1 --raw --nostream"


def test_systemd_log_commands_exact():
    sd = Systemd()
    assert sd.log_command(PROGRAM, 100).render() == "journalctl -u marketplace-api.service -n 100 --no-pager -o short-iso"
    assert sd.log_command(PROGRAM, 7, follow=True).render() == (
        "journalctl -u marketplace-api.service -n 7 --no-pager -o short-iso -f")


def test_odd_process_names_are_quoted():
    odd = Program(**{**PROGRAM.__dict__, "process": "api; rm -rf /"})
    assert "'api; rm -rf /'" in Pm2().log_command(odd, 1).render()
    assert "'api; rm -rf /'" in Supervisor(CONF).log_command(odd, 1).render()


# -- output --------------------------------------------------------------------------------------------
PM2_OUTPUT = """\
[TAILING] Tailing last 3 lines for [marketplace-api] process (change the value with --lines option)
/srv/marketplace/api/shared/logs/marketplace-api.out.log last 3 lines:
{"level":"info","msg":"listening"}
{"level":"info","msg":"request","path":"/health"}

/srv/marketplace/api/shared/logs/marketplace-api.err.log last 3 lines:
{"level":"warn","msg":"slow query"}

"""


def test_pm2_output_keeps_only_the_programs_lines():
    pm2 = Pm2()
    assert pm2.log_lines(PM2_OUTPUT, 3) == [
        '{"level":"info","msg":"listening"}', '{"level":"info","msg":"request","path":"/health"}',
        '{"level":"warn","msg":"slow query"}']
    assert pm2.log_error(PROGRAM, PM2_OUTPUT, 0) is None
    assert pm2.log_noise("[PM2] Spawning PM2 daemon with pm2_home=/run/pm2")


def test_pm2_says_when_it_knows_no_such_process():
    banner = "[TAILING] Tailing last 3 lines for [marketplace-api] process (change the value with --lines option)\n"
    assert "pm2 has no logs for marketplace-api" in Pm2().log_error(PROGRAM, banner, 0)
    assert Pm2().log_error(PROGRAM, "spawn pm2 ENOENT\n", 1) == "pm2: spawn pm2 ENOENT"


def supervisor_output(out: str, err: str, lines: int) -> str:
    """What supervisor_rpc.py tail prints for these two logs when `lines` are wanted (its own code)."""
    namespace: dict = {"__name__": "supervisor_rpc"}
    exec(compile(rpc_source(), "supervisor_rpc.py", "exec"), namespace)

    class Rpc:   # supervisord answers the byte window asked for
        def readProcessStdoutLog(self, name, offset, length):
            assert name == "marketplace-api" and offset < 0 and length == 0
            return out[offset:]

        def readProcessStderrLog(self, name, offset, length):
            return err[offset:]

    written = io.BytesIO()
    stdout = types.SimpleNamespace(buffer=written)
    with mock.patch.object(sys, "stdout", stdout):
        assert namespace["tail"](Rpc(), "marketplace-api", CONF, str(lines * LOG_LINE_BYTES), LOG_SEPARATOR) == 0
    return written.getvalue().decode()


def test_supervisor_output_last_lines_of_each_stream():
    sv = Supervisor(CONF)
    out = "".join(f"out {i}\n" for i in range(1, 8))
    err = "err 1\nerr 2\n"
    assert sv.log_lines(supervisor_output(out, err, 3), 3) == ["out 5", "out 6", "out 7", "err 1", "err 2"]
    assert sv.log_lines(supervisor_output("", "", 3), 3) == []
    assert sv.log_error(PROGRAM, supervisor_output(out, err, 3), 0) is None


def test_supervisor_drops_the_line_the_byte_window_cut():
    sv = Supervisor(CONF)
    line = "x" * 1500 + "\n"
    out = line * 3                        # the 2048-byte window cuts the first line it holds
    lines = sv.log_lines(supervisor_output(out, "", 2), 2)
    assert lines == ["x" * 1500]          # the cut piece is not shown as a line
    assert sv.log_lines(supervisor_output("short\n", "", 2), 2) == ["short"]


def test_supervisor_errors():
    sv = Supervisor(CONF)
    assert sv.log_error(PROGRAM, "marketplace-api: ERROR (no such process name)\n", 1) == (
        "supervisord: marketplace-api: ERROR (no such process name)")
    down = f"supervisord is not running ({CONF}): No such file or directory\n"
    assert sv.log_error(PROGRAM, down, 2) == f"supervisord is not running ({CONF})"
    assert sv.log_error(PROGRAM, "supervisord: SHUTDOWN_STATE\n", 1) == f"supervisord is not running ({CONF})"


def test_systemd_output_without_journal_headers():
    sd = Systemd()
    text = ("-- Logs begin at Mon 2024-01-01 00:00:00 UTC, end at Mon 2024-01-01 01:00:00 UTC. --\n"
            "Jan 01 00:00:01 api-1 systemd[1]: Started marketplace-api.service.\n-- No entries --\n")
    assert sd.log_lines(text, 10) == ["Jan 01 00:00:01 api-1 systemd[1]: Started marketplace-api.service."]
    assert sd.log_error(PROGRAM, "Failed to add match 'x': Invalid argument\n", 1) == (
        "systemd: Failed to add match 'x': Invalid argument")


# -- hosts and apps ----------------------------------------------------------------------------------------
def env() -> Environment:
    return Environment.model_validate({
        "name": "t", "source_file": "environments/t.yaml", "root": "/nonexistent",
        "database": {"dialect": "sqlite", "path": "db.sqlite"},
        "hosts": [{"name": "api-1", "address": "10.0.0.1", "roles": ["api"]},
                  {"name": "api-2", "address": "10.0.0.2", "roles": ["api"]},
                  {"name": "web-1", "address": "10.0.0.3", "roles": ["web"]}],
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": ".", "start": "run-api",
                         "port": 3000},
                 "web": {"process": "marketplace-web", "role": "web", "source": ".", "start": "run-web",
                         "port": 3001},
                 "static": {"process": "site", "role": "web", "source": ".", "start": "x", "port": 80,
                            "mode": "static"}},
    })


def test_host_names_from_repeated_flags_and_comma_lists():
    assert logs.host_names(None) == []
    assert logs.host_names([]) == []
    assert logs.host_names("api-1") == ["api-1"]
    assert logs.host_names(["api-2, api-1", "api-2", " ", "web-1"]) == ["api-2", "api-1", "web-1"]


def test_source_picks_the_apps_hosts():
    src = logs.source(env(), "api", [])
    assert [h.name for h in src.hosts] == ["api-1", "api-2"]
    assert src.program.process == "marketplace-api" and src.manager.name == "supervisor"
    assert [h.name for h in logs.source(env(), "api", ["api-2"]).hosts] == ["api-2"]
    assert [h.name for h in logs.source(env(), "web", []).hosts] == ["web-1"]


@pytest.mark.parametrize("app, hosts, message", [
    ("nope", [], "unknown app 'nope' (apps of t: api, web, static)"),
    ("static", [], "apps.static is served as static files"),
    ("api", ["api-9"], "unknown host(s): api-9 (hosts of t: api-1, api-2, web-1)"),
    ("api", ["api-1", "web-1"], "web-1 does not run api (hosts with the role 'api': api-1, api-2)"),
])
def test_source_refuses_with_one_line(app, hosts, message):
    with pytest.raises(ConfigError) as err:
        logs.source(env(), app, hosts)
    assert message in str(err.value) and "\n" not in str(err.value)


# -- printing -------------------------------------------------------------------------------------------------
def test_clean_strips_terminal_colours():
    assert logs.clean("\x1b[32mok\x1b[39m  \r") == "ok"
    assert logs.clean("plain") == "plain"


def test_printer_prefixes_aligned_and_masks():
    secret = Secret("s3cr3t-value", name="JWT_SECRET")
    out = io.StringIO()
    printer = logs.Printer(["api-1", "web-10"], stream=out)
    printer.line("api-1", "hello")
    printer.line("web-10", f"token={secret.reveal()}")
    assert out.getvalue() == "api-1  | hello\nweb-10 | token=***\n"


def test_printer_json_lines():
    Secret("another-secret", name="X")
    out = io.StringIO()
    printer = logs.Printer(["api-1"], json_lines=True, stream=out)
    printer.line("api-1", 'say "another-secret"')
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"host": "api-1", "line": 'say "***"'}]


def test_grep_filter():
    from deploy.errors import ConfigError
    from deploy.cli.tasks.operate import line_filter

    wanted = line_filter(r"GET /api/v1/\w+ 5\d\d")
    assert wanted("h", "x GET /api/v1/ratings 503 12ms") and not wanted("h", "x GET /api/v1/ratings 200 3ms")
    assert line_filter(None)("h", "anything") and line_filter("")("h", "anything")
    with pytest.raises(ConfigError, match=r"--grep: 'a\(' is not a regular expression"):
        line_filter("a(")


def test_since_and_grep_together_per_host():
    from deploy.cli.tasks.operate import LineFilter

    now = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)
    wanted = LineFilter("boom", "10m", now=now)
    assert wanted.cutoff == datetime(2026, 12, 1, 19, 50, tzinfo=timezone.utc)
    assert not wanted("a", "2026-12-01 19:45:00 +00:00: boom")         # too old
    assert not wanted("a", "  at boom (trace of the old line)")        # follows the old line
    assert not wanted("a", "2026-12-01 19:55:00 +00:00: fine")         # recent, not grepped
    assert wanted("a", "  at boom (trace of the recent line)")         # follows the recent line
    assert not wanted("b", "  at boom (host b: no stamped line yet)")  # each host its own time
    assert wanted.stamped == {"a"}

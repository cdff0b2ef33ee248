"""Pure parsers of host facts and process-manager status output, on fixture text."""

from deploy.hosts.facts import SEPARATOR, facts_command, parse_df, parse_facts, parse_meminfo
from deploy.process.pm2 import Pm2, extract_json_array
from deploy.process.base import ProcessState
from deploy.process.supervisor import Supervisor, rpc_source
from deploy.process.systemd import Systemd

MEMINFO = """MemTotal:       24576000 kB
MemFree:         1000000 kB
MemAvailable:   20480000 kB
Buffers:          100 kB
"""
DF = """Filesystem     1024-blocks      Used Available Capacity Mounted on
/dev/vda         264000000 23000000 83886080      22% /
"""


def test_meminfo_and_df():
    assert parse_meminfo(MEMINFO)["MemAvailable"] == 20480000
    assert parse_df(DF) == ("/", 81920, 257812)


def test_parse_facts_sections():
    text = f"2\n{SEPARATOR}\n{MEMINFO}{SEPARATOR}\n{DF}{SEPARATOR}\n1700000000.25\n{SEPARATOR}\n/usr/bin/supervisorctl\nmissing:pm2\n"
    facts = parse_facts(text, ["supervisorctl", "pm2"])
    assert facts.cpus == 2
    assert facts.mem_available_mb == 20000 and facts.mem_total_mb == 24000
    assert facts.disk_free_mb == 81920 and facts.disk_mount == "/"
    assert facts.clock == 1700000000.25
    assert facts.tools == {"supervisorctl": "/usr/bin/supervisorctl", "pm2": None}


def test_facts_command_quotes_the_path():
    text = facts_command("/srv/x y", ["supervisorctl"]).render()
    assert text.startswith("sh -c ")
    assert "/srv/x y" in text and "nproc" in text


# what supervisor_rpc.py status prints: supervisorctl status's columns, by tabs
STATUS = ("marketplace-api\tRUNNING\t4242\tpid 4242, uptime 0:05:01\n"
          "marketplace-web\tSTOPPED\t0\tNov 24 01:02 PM\n"
          "other:worker_00\tFATAL\t0\tExited too quickly (process log may have details)\n"
          "marketplace-api-green\tBACKOFF\t0\tExited too quickly (process log may have details)\n"
          "long\tRUNNING\t7\tpid 7, uptime 2 days, 3:04:05\n")


def test_supervisor_status_parsing():
    states = Supervisor("/etc/s.conf").parse_status(STATUS, 0)
    assert states["marketplace-api"] == ProcessState("marketplace-api", "running", 4242, "0:05:01", "")
    assert states["marketplace-web"] == ProcessState("marketplace-web", "stopped", None, None, "Nov 24 01:02 PM")
    assert states["worker_00"].state == "fatal" and states["worker_00"].pid is None   # group:name -> name
    assert states["worker_00"].detail == "Exited too quickly (process log may have details)"
    assert states["marketplace-api-green"].state == "starting"
    assert states["long"].uptime == "2 days, 3:04:05"
    assert set(states) == {"marketplace-api", "marketplace-web", "worker_00", "marketplace-api-green", "long"}


def test_supervisor_status_ignores_other_lines():
    text = "a warning on stderr\nmarketplace-api\tRUNNING\tx\tpid x\nbad\tWHATEVER\t1\t\n" + STATUS
    assert set(Supervisor("/c").parse_status(text, 0)) == set(Supervisor("/c").parse_status(STATUS, 0))


def test_supervisor_daemon_down_is_empty():
    down = "supervisord is not running (/c): No such file or directory\n"
    assert Supervisor("/c").parse_status(down, 2) == {}
    assert Supervisor("/c").parse_status("supervisord: SHUTDOWN_STATE\n", 1) == {}
    assert Supervisor("/c").parse_status(STATUS, 1) == {}     # not a full answer: nothing trusted
    assert str(Supervisor("/c").status_command([])) == \
        "python3 -I -S -c <supervisor_rpc.py> status /c /supervisor.sock"


def test_supervisor_rpc_status_prints_what_parse_status_reads(capsys):
    """supervisor_rpc.py's status over getAllProcessInfo's answer (supervisor.rpcinterface's keys)."""
    namespace: dict = {"__name__": "supervisor_rpc"}
    exec(compile(rpc_source(), "supervisor_rpc.py", "exec"), namespace)

    class Rpc:
        def getAllProcessInfo(self):
            return [
                {"name": "marketplace-api", "group": "marketplace-api", "statename": "RUNNING", "state": 20,
                 "pid": 4242, "description": "pid 4242, uptime 0:05:01", "spawnerr": ""},
                {"name": "worker_00", "group": "other", "statename": "FATAL", "state": 200, "pid": 0,
                 "description": "Exited too quickly\t(process log\nmay have details)", "spawnerr": "x"},
            ]

    assert namespace["status"](Rpc(), "/c") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "other:worker_00\tFATAL\t0\tExited too quickly (process log may have details)"
    states = Supervisor("/c").parse_status(out, 0)
    assert states["marketplace-api"] == ProcessState("marketplace-api", "running", 4242, "0:05:01", "")
    assert states["worker_00"].detail == "Exited too quickly (process log may have details)"


def test_pm2_jlist_with_banner_before_json():
    out = ('>>>> In-memory PM2 is out-of-date, do:\n>>>> $ pm2 update\n'
           '[{"name":"marketplace-api","pid":77,"pm2_env":{"status":"online","pm_uptime":0,'
           '"restart_time":2}},{"name":"marketplace-web","pid":0,"pm2_env":{"status":"errored"}}]\n')
    states = Pm2().parse_status(out, 0)
    assert states["marketplace-api"].state == "running" and states["marketplace-api"].pid == 77
    assert states["marketplace-api"].detail == "restarts=2"
    assert states["marketplace-web"].state == "errored" and states["marketplace-web"].pid is None


def test_pm2_garbage_gives_nothing():
    assert extract_json_array("[PM2] Spawning daemon [oops") == []
    assert Pm2(home="/run/pm2").status_command([]).render() == "env PM2_HOME=/run/pm2 pm2 jlist"


def test_systemd_show_parsing():
    out = "Id=marketplace-api.service\nActiveState=active\nSubState=running\nMainPID=99\n\n" \
          "Id=marketplace-web.service\nActiveState=failed\nSubState=failed\nMainPID=0\n"
    states = Systemd().parse_status(out, 0)
    assert states["marketplace-api"].state == "running" and states["marketplace-api"].pid == 99
    assert states["marketplace-web"].state == "fatal"
    assert Systemd().status_command(["marketplace-api"]).render() == \
        "systemctl show --property=Id,ActiveState,SubState,MainPID marketplace-api.service"

"""Pure parsers of host facts and process-manager status output, on fixture text."""

from deploy.hosts.facts import SEPARATOR, facts_command, parse_df, parse_facts, parse_meminfo
from deploy.process.pm2 import Pm2, extract_json_array
from deploy.process.supervisor import Supervisor
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


def test_supervisor_status_parsing():
    out = """marketplace-api                  RUNNING   pid 4242, uptime 0:05:01
marketplace-web                  STOPPED   Nov 24 01:02 PM
other:worker_00                  FATAL     Exited too quickly (process log may have details)
"""
    states = Supervisor("/etc/s.conf").parse_status(out, 3)
    assert states["marketplace-api"].state == "running" and states["marketplace-api"].pid == 4242
    assert states["marketplace-api"].uptime == "0:05:01"
    assert states["marketplace-web"].state == "stopped"
    assert states["worker_00"].state == "fatal"


def test_supervisor_daemon_down_is_empty():
    out = "unix:///run/supervisor.sock no such file\n"
    assert Supervisor("/c").parse_status(out, 4) == {}
    assert Supervisor("/c").status_command([]).render() == "supervisorctl -c /c status"


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

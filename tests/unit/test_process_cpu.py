"""bench/process_cpu.py reads the kernel's acct v3 records: comp_t times, comm, the fork flag."""

from __future__ import annotations

import importlib.util

from tests.support.envs import REPO

spec = importlib.util.spec_from_file_location("process_cpu", REPO / "bench" / "process_cpu.py")
process_cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(process_cpu)


def record(comm: bytes, utime: int, stime: int, started: int, flag: int = 0) -> bytes:
    return process_cpu.ACCT_V3.pack(flag, 3, 0, 0, 0, 0, 1, 1, started, 0.0, utime, stime, 0, 0, 0, 0, 0, 0, comm)


def test_comp_t_is_a_base_8_float():
    assert process_cpu.comp_t(250) == 250
    assert process_cpu.comp_t((1 << 13) | 5000) == 40000          # 5000 x 8


def test_records_and_the_summary(capsys, tmp_path):
    data = record(b"python", 80, 20, 1000) + record(b"sshd", (1 << 13) | 100, 0, 2000, flag=1)
    assert list(process_cpu.records(data)) == [("python", 1000, 1.0), ("sshd*", 2000, 8.0)]
    path = tmp_path / "pacct"
    path.write_bytes(data)
    assert process_cpu.main([str(path), "--until", "1970-01-01 00:20:00"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 processes, 1 CPU seconds") and "python" in out and "sshd" not in out

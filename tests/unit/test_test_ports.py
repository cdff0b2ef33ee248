"""tests/support/ports.py: the suite's listener ports stay out of the kernel's ephemeral range and
out of each other's way."""

from __future__ import annotations

import socket

import pytest

from tests.support import ports


def test_each_worker_has_its_own_slice_below_the_ephemeral_range():
    slices = [ports.worker_slice(f"gw{n}", 32768) for n in range(ports.SLICES)]
    assert all(s.stop <= 32768 and s.start >= 1024 and len(s) == ports.SLICE for s in slices)
    assert len(set().union(*map(set, slices))) == ports.SLICE * ports.SLICES      # disjoint
    assert ports.worker_slice(None, 32768) == ports.worker_slice("master", 32768) == slices[0]
    assert ports.worker_slice(f"gw{ports.SLICES}", 32768) == slices[0]              # wraps round


def test_a_range_too_low_for_the_slices_is_said_so():
    with pytest.raises(RuntimeError, match="no room below it"):
        ports.worker_slice("gw0", 5000)


def test_the_range_is_read_from_the_kernel_file(tmp_path):
    file = tmp_path / "range"
    file.write_text("40000\t60999\n")
    assert ports.ephemeral_low(str(file)) == 40000
    assert ports.ephemeral_low(str(tmp_path / "missing")) == 32768


def test_free_port_skips_a_bound_port_and_never_repeats_within_its_slice(monkeypatch):
    monkeypatch.setattr(ports, "_ports", None)
    low = ports.ephemeral_low()
    first = ports.free_port()
    taken = socket.socket()
    try:
        monkeypatch.setattr(ports, "_ports", None)
        taken.bind(("127.0.0.1", first))                 # the same walk starts there again: skipped
        given = [ports.free_port() for _ in range(50)]
    finally:
        taken.close()
    assert first not in given and len(set(given)) == 50
    assert all(port < low for port in [first, *given])

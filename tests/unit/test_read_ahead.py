"""ReadAhead: each host read once in the background (during the build), its value taken once; a
host whose background read failed is read again where the value is used, and fails there."""

import threading
from types import SimpleNamespace

import pytest

from deploy.engine.ship import ReadAhead


class FakeFleet:
    """Fleet.run's contract as the read needs it: every host, a failure kept per host."""

    def __init__(self, names):
        self.hosts = [SimpleNamespace(name=n) for n in names]

    def run(self, work, size=None, max_fail=None):
        assert size == len(self.hosts) and max_fail == len(self.hosts)   # all at once, none stops the rest
        for host in self.hosts:
            try:
                work(host)
            except Exception:
                pass


def test_each_host_is_read_once_in_the_background_and_read_again_only_when_that_failed():
    calls, threads, down = [], set(), {"h2"}

    def read(host):
        calls.append(host.name)
        threads.add(threading.current_thread().name)
        if host.name in down:
            raise OSError(f"{host.name}: connection refused")
        return (host.name, len(calls))

    fleet = FakeFleet(["h1", "h2", "h3"])
    ahead = ReadAhead(fleet, read)
    ahead.join()
    assert calls == ["h1", "h2", "h3"] and threads == {"read-ahead"}
    h1, h3 = fleet.hosts[0], fleet.hosts[2]
    assert ahead.take(h1) == ("h1", 1) and ahead.take(h3) == ("h3", 3)
    assert calls == ["h1", "h2", "h3"]                       # no second round trip for them
    with pytest.raises(OSError, match="h2: connection refused"):
        ahead.take(fleet.hosts[1])                           # read again here: the error is the step's
    down.clear()
    assert ahead.take(fleet.hosts[1]) == ("h2", 5)
    assert ahead.take(h1) == ("h1", 6)                       # taken once: a second use reads anew

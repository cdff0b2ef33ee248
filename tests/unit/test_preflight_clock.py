"""Clock skew, pure: the facts a host printed (its `date +%s.%N`) judged against our round trip."""

import pytest

from deploy.hosts.facts import SEPARATOR, parse_facts
from deploy.preflight.checklist import clock_item, clock_skew

DF = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 2048000 1024000 1024000 50% /srv\n"


def facts_text(clock: str) -> str:
    return (f"2\n{SEPARATOR}\nMemTotal: 2048000 kB\nMemAvailable: 1024000 kB\n{SEPARATOR}\n{DF}"
            f"{SEPARATOR}\n{clock}\n{SEPARATOR}\n/usr/bin/supervisorctl\n")


@pytest.mark.parametrize("clock, skew, status", [
    ("1700000000.50", 0.0, "pass"),             # read in the middle of the round trip
    ("1700000005.25", 4.75, "pass"),            # inside the 5 s allowed
    ("1700000120.50", 120.0, "fail"),           # two minutes fast
    ("1699999994.00", -6.5, "fail"),            # six and a half seconds slow
])
def test_a_skewed_host_clock_fails_the_check(clock, skew, status):
    facts = parse_facts(facts_text(clock), ["supervisorctl"])
    measured = clock_skew(facts.clock, sent=1700000000.0, received=1700000001.0)
    assert measured == pytest.approx(skew)
    item = clock_item("api-1", measured, 5)
    assert (item.section, item.name, item.status) == ("hosts", "api-1: clock skew", status)
    assert item.detail == f"{skew:+.2f}s (max ±5s)"


def test_a_clock_line_that_is_not_a_number_is_an_error():
    with pytest.raises(ValueError):
        parse_facts(facts_text("Tue Dec  1 12:00:00 UTC 2026"), ["supervisorctl"])

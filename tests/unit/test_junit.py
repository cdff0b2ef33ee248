"""The JUnit writer: the structure CI systems read, counted right, masked, always well-formed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from deploy.output import junit
from deploy.secrets import Secret

CASES = [
    junit.Case("env", "api: JWT_SECRET", junit.PASSED, output="set and valid"),
    junit.Case("env", "api: SENTRY_DSN", junit.SKIPPED, "not set (optional)"),
    junit.Case("database", "database reachable", junit.FAILED, "database unreachable: connection refused", 1.25),
    junit.Case("hosts", "api-1: reachable", junit.ERROR, "ssh to 10.0.0.1:22 failed"),
    junit.Case("hosts", "api-2: reachable", junit.PASSED, time=0.5),
]
STAMP = datetime(2024, 5, 1, 12, 30, 15, tzinfo=timezone.utc)


def parse(cases=CASES, **kwargs) -> ET.Element:
    return ET.fromstring(junit.to_xml("checks.preflight", cases, timestamp=STAMP, hostname="ci-runner", **kwargs)
                         .split("\n", 1)[1])


def test_testsuites_totals_and_one_suite_per_classname_in_order():
    root = parse(time_s=3.0)
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("name", "tests", "failures", "errors", "skipped", "time")} == {
        "name": "checks.preflight", "tests": "5", "failures": "1", "errors": "1", "skipped": "1", "time": "3.000"}
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["env", "database", "hosts"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in suites] == [
        ("2", "0", "0", "1"), ("1", "1", "0", "0"), ("2", "0", "1", "0")]
    assert suites[2].get("time") == "0.500" and suites[1].get("time") == "1.250"
    assert all(s.get("timestamp") == "2024-05-01T12:30:15" and s.get("hostname") == "ci-runner" for s in suites)
    assert [s.get("id") for s in suites] == ["0", "1", "2"]


def test_each_case_carries_its_outcome():
    cases = {(c.get("classname"), c.get("name")): c for c in parse().iter("testcase")}
    assert len(cases) == 5
    passed = cases[("env", "api: JWT_SECRET")]
    assert list(passed) == [passed.find("system-out")] and passed.find("system-out").text == "set and valid"
    skipped = cases[("env", "api: SENTRY_DSN")].find("skipped")
    assert skipped is not None and skipped.get("message") == "not set (optional)"
    failure = cases[("database", "database reachable")].find("failure")
    assert failure.get("message") == "database unreachable: connection refused"
    assert failure.get("type") == "failure" and failure.text == failure.get("message")
    assert cases[("database", "database reachable")].get("time") == "1.250"
    error = cases[("hosts", "api-1: reachable")].find("error")
    assert error.get("message") == "ssh to 10.0.0.1:22 failed"


def test_root_time_is_never_below_the_cases_and_an_empty_report_is_valid():
    assert parse(time_s=0.1).get("time") == "1.750"
    empty = parse([])
    assert empty.get("tests") == "0" and empty.findall("testsuite") == []


def test_secrets_are_masked_and_text_xml_cannot_hold_is_dropped():
    secret = Secret("pa55word-for-junit-test", name="x")
    cases = [junit.Case("env", f"DATABASE_URL={secret.reveal()}", junit.FAILED,
                        f"bad value {secret.reveal()}\x00\x1b[31m <&> \"q\"", output=secret.reveal())]
    text = junit.to_xml("t", cases, timestamp=STAMP)
    assert secret.reveal() not in text and "\x00" not in text and "\x1b" not in text
    case = ET.fromstring(text.split("\n", 1)[1]).find("testsuite/testcase")
    assert case.get("name") == "DATABASE_URL=***"
    assert case.find("failure").get("message") == 'bad value ***[31m <&> "q"'
    assert case.find("system-out").text == "***"


def test_long_messages_are_cut_in_the_attribute_but_kept_in_the_text():
    cases = [junit.Case("x", "y", junit.FAILED, "m" * 5000)]
    failure = parse(cases).find("testsuite/testcase/failure")
    assert len(failure.get("message")) == junit.MESSAGE_MAX and len(failure.text) == 5000


def test_write_is_atomic_creates_folders_and_refuses_a_folder(tmp_path, monkeypatch):
    target = tmp_path / "reports" / "nested" / "preflight.xml"
    assert junit.write(target, "checks.preflight", CASES) == target
    assert target.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    assert [p.name for p in target.parent.iterdir()] == ["preflight.xml"]
    with pytest.raises(IsADirectoryError):
        junit.write(tmp_path / "reports", "x", CASES)
    monkeypatch.chdir(tmp_path)
    relative = junit.writable("rel/report.xml")
    assert relative == tmp_path / "rel" / "report.xml" and relative.parent.is_dir()

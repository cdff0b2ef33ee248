"""checks.preflight --junit PATH as CI runs it: the real `invoke`, a checklist with passing,
failing and skipped items, and the report checked against the JUnit structure CI systems read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support import invoke_fork
from tests.support.envs import REPO, make_root

SECRET = "jwt-secret-for-junit-" + "z" * 30
# The elements and attributes of the JUnit format as Jenkins, GitLab and the GitHub reporters read
# it (the common junit-10 XSD); required attributes first.
SCHEMA = {
    "testsuites": ({"tests", "failures", "errors"}, {"name", "skipped", "time", "disabled"}),
    "testsuite": ({"name", "tests", "failures", "errors", "time"},
                  {"skipped", "timestamp", "hostname", "id", "package", "disabled"}),
    "testcase": ({"name", "classname", "time"}, {"assertions", "status", "file", "line"}),
    "failure": ({"message"}, {"type"}),
    "error": ({"message"}, {"type"}),
    "skipped": (set(), {"message"}),
    "system-out": (set(), set()),
    "system-err": (set(), set()),
}
CHILDREN = {"testsuites": {"testsuite"}, "testsuite": {"testcase", "properties", "system-out", "system-err"},
            "testcase": {"failure", "error", "skipped", "system-out", "system-err"}}


def validate(element: ET.Element) -> None:
    """Every element and attribute known, required ones present, numbers numbers, counts right."""
    required, optional = SCHEMA[element.tag]
    assert required <= set(element.attrib), (element.tag, element.attrib)
    assert set(element.attrib) <= required | optional, (element.tag, element.attrib)
    for key in ("tests", "failures", "errors", "skipped"):
        if key in element.attrib:
            assert int(element.get(key)) >= 0
    if "time" in element.attrib:
        assert float(element.get("time")) >= 0
    for child in element:
        assert child.tag in CHILDREN.get(element.tag, set()), (element.tag, child.tag)
        validate(child)
    if element.tag == "testcase":
        outcomes = [c.tag for c in element if c.tag in ("failure", "error", "skipped")]
        assert len(outcomes) <= 1
    if element.tag in ("testsuite", "testsuites"):
        cases = list(element.iter("testcase"))
        assert int(element.get("tests")) == len(cases)
        for tag, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(element.get(key, "0")) == sum(1 for c in cases if c.find(tag) is not None), key


def project(tmp_path: Path) -> tuple[Path, Path]:
    app = tmp_path / "app"
    app.mkdir()
    root = make_root(tmp_path / "project", "t", {
        "hosts": [{"name": "box", "transport": "local", "roles": ["api"]}],
        "database": {"dialect": "sqlite", "path": str(tmp_path / "missing.db")},
        "secrets": ["TEST_JWT"],
        "env": {"JWT_SECRET": "${TEST_JWT}", "DATABASE_URL": "sqlite:////tmp/x.db",
                "RATE_LIMIT_WINDOW_MS": "1000", "RATE_LIMIT_MAX_REQUESTS": "10"},
        "apps": {"api": {"process": "marketplace-api", "role": "api", "source": str(app), "start": "true",
                         "port": 3999,
                         "commands": {"test": "touch tests-ran",
                                      # the failure's reason echoes the secret: it must arrive masked
                                      "typecheck": "sh -c 'echo \"type error near $TEST_JWT\" >&2; exit 2'"}}},
    })
    return root, app


def invoke(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update({"DEPLOY_ROOT": str(root), "TEST_JWT": SECRET, "CI": "true"})
    proc = invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert SECRET not in proc.stdout + proc.stderr
    return proc


def test_one_case_per_item_failures_with_reasons_skips_and_no_secret(tmp_path):
    root, app = project(tmp_path)
    report = tmp_path / "reports" / "preflight.xml"
    proc = invoke(root, "checks.preflight", "--env", "t", "--skip", "hosts", "--junit", str(report), "--json")
    assert proc.returncode == 1, proc.stderr                     # a failing checklist still writes its report
    doc = json.loads(proc.stdout)
    assert doc["junit"] == str(report)
    text = report.read_text(encoding="utf-8")
    assert SECRET not in text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root_element = ET.fromstring(text.split("\n", 1)[1])
    validate(root_element)

    items = doc["items"]
    cases = list(root_element.iter("testcase"))
    assert [(c.get("classname"), c.get("name")) for c in cases] == [(i["section"], i["name"]) for i in items]
    assert root_element.get("name") == "checks.preflight"
    assert int(root_element.get("tests")) == len(items)
    assert int(root_element.get("failures")) == doc["counts"]["fail"] >= 2
    assert int(root_element.get("skipped")) == doc["counts"]["skip"] >= 3
    assert [s.get("name") for s in root_element.findall("testsuite")] == ["env", "commands", "database",
                                                                          "migrations", "tls", "lb"]
    by_name = {(c.get("classname"), c.get("name")): c for c in cases}
    typecheck = by_name[("commands", "api: typecheck")].find("failure")
    assert typecheck.get("message").startswith("`sh -c") and typecheck.get("message").endswith(
        "exited 2: type error near ***")
    database = by_name[("database", "database reachable")].find("failure")
    assert "database unreachable" in database.get("message") and "missing.db" in database.get("message")
    for case in cases:
        failure = case.find("failure")
        if failure is not None:
            assert failure.get("message") and failure.text == failure.get("message")
    assert by_name[("commands", "api: build")].find("skipped").get("message") == "no command configured"
    assert by_name[("tls", "TLS certificate")].find("skipped") is not None
    passed = by_name[("env", "api: JWT_SECRET")]
    assert list(passed.iter("failure")) == [] and passed.find("system-out").text == "set and valid"
    assert (app / "tests-ran").exists()


def test_a_passing_checklist_writes_a_report_without_failures(tmp_path):
    root, _ = project(tmp_path)
    report = tmp_path / "ok.xml"
    proc = invoke(root, "checks.preflight", "--env", "t", "--only", "env,migrations", "--junit", str(report))
    assert proc.returncode == 0, proc.stderr
    element = ET.parse(report).getroot()
    validate(element)
    assert element.get("failures") == "0" and element.get("errors") == "0" and int(element.get("tests")) >= 5


def test_a_report_path_that_cannot_be_written_is_exit_2_before_anything_runs(tmp_path):
    root, app = project(tmp_path)
    (tmp_path / "a-folder").mkdir()
    proc = invoke(root, "checks.preflight", "--env", "t", "--junit", str(tmp_path / "a-folder"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: --junit: cannot write {tmp_path / 'a-folder'}: "
                                                f"{tmp_path / 'a-folder'} is a folder"]
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = invoke(root, "checks.preflight", "--env", "t", "--junit", str(blocker / "report.xml"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert not (app / "tests-ran").exists()


def test_short_flags_stay_as_on_every_task(tmp_path):
    """--junit must not take -j from --json: -e and -j as on every task, and no short flag of its
    own (the short flags are only -e, -j, -m, the same everywhere: issue 13)."""
    root, _ = project(tmp_path)
    report = tmp_path / "short.xml"
    proc = invoke(root, "checks.preflight", "-e", "t", "-j", "--only", "env", "--junit", str(report))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["junit"] == str(report) and report.is_file()
    refused = invoke(root, "checks.preflight", "-e", "t", "-u", str(report))
    assert refused.returncode == 2 and "unknown flag '-u'" in refused.stderr, refused.stderr

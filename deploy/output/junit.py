"""JUnit XML for CI: one test case per check (preflight items now; smoke checks and gates later).

The shape CI systems read (Jenkins, GitLab, GitHub and Azure test reporters):

    <testsuites name tests failures errors skipped time>
      <testsuite name tests failures errors skipped time timestamp hostname>   one per classname
        <testcase classname name time>
          <failure message type>reason</failure> | <error .../> | <skipped message/>
          <system-out>detail</system-out>

Every text is masked (no secret reaches the file) and cleared of characters XML 1.0 cannot hold.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from deploy.secrets import mask

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
_NOT_XML = re.compile("[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
MESSAGE_MAX = 1000


@dataclass(frozen=True)
class Case:
    classname: str           # the group: a preflight section, a host, a gate
    name: str
    status: str = PASSED     # passed | failed | error | skipped
    message: str = ""        # the reason (failure, error, skip)
    time: float = 0.0        # seconds
    output: str = ""         # shown as system-out (a passed check's detail, a warning)


def clean(text: object) -> str:
    return _NOT_XML.sub("", mask(str(text)))


def _counts(cases: list[Case]) -> dict[str, str]:
    return {"tests": str(len(cases)),
            "failures": str(sum(1 for c in cases if c.status == FAILED)),
            "errors": str(sum(1 for c in cases if c.status == ERROR)),
            "skipped": str(sum(1 for c in cases if c.status == SKIPPED)),
            "time": f"{sum(c.time for c in cases):.3f}"}


def to_element(name: str, cases: Iterable[Case], timestamp: datetime | None = None,
               hostname: str | None = None, time_s: float | None = None) -> ET.Element:
    cases = list(cases)
    stamp = (timestamp or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    root = ET.Element("testsuites", {"name": clean(name), **_counts(cases)})
    if time_s is not None:
        root.set("time", f"{max(time_s, sum(c.time for c in cases)):.3f}")
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.classname, []).append(case)
    for index, (classname, group) in enumerate(groups.items()):
        suite = ET.SubElement(root, "testsuite", {
            "name": clean(classname), "id": str(index), **_counts(group),
            "timestamp": stamp.isoformat(timespec="seconds"),
            "hostname": clean(hostname or socket.gethostname())})
        for case in group:
            _case(suite, case)
    return root


def _case(suite: ET.Element, case: Case) -> None:
    element = ET.SubElement(suite, "testcase", {"classname": clean(case.classname), "name": clean(case.name),
                                                "time": f"{case.time:.3f}"})
    message = clean(case.message)
    if case.status in (FAILED, ERROR):
        tag = "failure" if case.status == FAILED else "error"
        child = ET.SubElement(element, tag, {"message": message[:MESSAGE_MAX], "type": tag})
        child.text = message
    elif case.status == SKIPPED:
        ET.SubElement(element, "skipped", {"message": message[:MESSAGE_MAX]} if message else {})
    if case.output:
        ET.SubElement(element, "system-out").text = clean(case.output)


def to_xml(name: str, cases: Iterable[Case], **kwargs) -> str:
    root = to_element(name, cases, **kwargs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def writable(path: str | Path) -> Path:
    """The report's path, its folder created; raises OSError when it cannot be written there."""
    target = Path(path).expanduser().absolute()
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(target.parent, os.W_OK):
        raise PermissionError(f"{target.parent} is not writable")
    return target


def write(path: str | Path, name: str, cases: Iterable[Case], **kwargs) -> Path:
    """Write the report atomically (a CI never reads half a file)."""
    target = writable(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(to_xml(name, cases, **kwargs))
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target

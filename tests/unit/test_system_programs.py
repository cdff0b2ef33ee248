"""The strict suite's programs (tests/support/programs.py) are the ones .ci/install-system.sh
installs: a program a test needs but CI does not install makes a fresh machine's CI red while a
developer's machine, which kept a manual install, stays green (issue 10: Chromium)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.support import programs, strict

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / ".ci" / "install-system.sh"


def installed_by(script: str) -> dict[str, set[str]]:
    """{"apt:<package>" | "npm:<package>": {programs checked for it}} from the script's arrays."""
    found: dict[str, set[str]] = {}
    for array, kind in (("apt_programs", "apt"), ("npm_programs", "npm")):
        match = re.search(rf"^{array}=\((.*?)^\)", script, re.M | re.S)
        assert match, f"{INSTALL.name} has no {array}=( ... ) array"
        for entry in shlex.split(match[1], comments=True):
            program, package = entry.split()
            package = package.split("@", 1)[0] if kind == "npm" else package
            found.setdefault(f"{kind}:{package}", set()).add(program)
    return found


@pytest.mark.parametrize("name", sorted(programs.PROGRAMS))
def test_every_program_the_suite_needs_is_installed_by_ci(name):
    program = programs.PROGRAMS[name]
    installs = installed_by(INSTALL.read_text())
    assert program.source in installs, (
        f"{name} comes from {program.source}, which .ci/install-system.sh never installs")
    assert program.look_for in installs[program.source], (
        f".ci/install-system.sh installs {program.source} only when "
        f"{sorted(installs[program.source])} is missing, never checking for {program.look_for}: "
        "a machine without it would keep it missing")


def test_the_parser_sees_a_program_dropped_from_the_script():
    script = INSTALL.read_text()
    assert '"chromium chromium"' in script
    dropped = installed_by(script.replace('"chromium chromium"', ""))
    assert "apt:chromium" not in dropped
    assert "apt:chromium" in installed_by(script)


def test_a_program_off_the_list_cannot_be_asked_for():
    with pytest.raises(AssertionError, match="not in tests/support/programs.py"):
        strict.need_binary("some-program-nobody-installs")


def test_tests_find_programs_only_through_the_list():
    """shutil.which or a test of a hard-coded /usr path would bypass the list."""
    offenders = []
    for path in (REPO / "tests").rglob("*.py"):
        if path.name == "programs.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"shutil\.which\(|os\.access\(\s*[\"']/usr/|^\s*[A-Z_]+ = [\"']/usr/s?bin/", line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "find programs with strict.need_binary:\n" + "\n".join(offenders)

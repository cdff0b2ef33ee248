"""A module imported when one of its names is first used, not when the importing module loads.

The task modules name their implementation through this (`p2 = lazy("deploy.phases.phase2")`), so that
`invoke --list` and `invoke --help TASK`, which only read the tasks' names, flags and help, do
not import pydantic, paramiko, jinja2, requests or pyodbc: every `invoke` the pipeline and its
tests start pays for what its task uses, not for every task. A library a module uses in many
places on one path only is named the same way (`paramiko = lazy("paramiko")` in deploy/hosts/fleet.py:
only the SSH path loads it); where one function uses a library, that function imports it.
tests/unit/test_import_cost.py fails when one of them comes back on a start path.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`; the first attribute read imports it (Python caches it)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.module(), attr)

    def module(self) -> ModuleType:
        return importlib.import_module(self._name)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """`lazy("deploy.phases.phase2")`: the module, imported on first use (typed Any for the call sites)."""
    return LazyModule(name)

"""The files the tool ships: templates/, checks/ (the defaults) and sql/ (migrations, queries).

In a checkout they are the repository's own top-level folders. A built wheel carries copies
inside the package, under deploy/_shipped/ (setup.py copies them at build time), so the
console script works outside a checkout. A deploy repository's own file always wins:
`project_path(root, "checks/smoke.yaml")` is the project's copy when it has one, else the shipped one.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
INSIDE = PACKAGE / "_shipped"         # in an installed wheel
CHECKOUT = PACKAGE.parent             # in a checkout (or an editable install)
FOLDERS = ("templates", "checks", "sql")


def shipped(relative: str) -> Path:
    """A shipped file or folder: the wheel's copy when installed, else the checkout's."""
    inside = INSIDE / relative
    return inside if inside.exists() or not (CHECKOUT / relative).exists() else CHECKOUT / relative


def project_path(root: str | Path | None, relative: str) -> Path:
    """The project's own file or folder when it has one, else the shipped one (when that exists),
    else the project's path (so a "missing" message names the project's file)."""
    own = Path(root) / relative if root else None
    if own is not None and own.exists():
        return own
    default = shipped(relative)
    if default.exists():
        return default
    return own if own is not None else default

"""The raw layers of one environment: its file, the base files it `extends:`, and an overlay.

    # environments/staging.yaml
    extends: base/fleet.yaml        # relative to this file's folder; a base may extend another

A base is merged under the file that extends it, and $DEPLOY_OVERLAY (a YAML file, relative to
the project root unless absolute) over the result, as Kamal merges `deploy.<destination>.yml`
over `deploy.yml`: mappings merge key by key, anything else (a list, a string) is replaced
whole. Each layer's `secrets:` list is checked on its own and the lists are joined, so a secret
named in a base stays a secret wherever it is used. A missing or cyclic base, or a missing
overlay, is one ConfigError naming the file (exit 2). Nothing here resolves ${VAR}s or
validates: config.load does both on the merged result, so errors and `invoke config` see what
the tasks will use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from deploy.config.refs import declared_secrets
from deploy.errors import ConfigError

EXTENDS_KEY = "extends"
OVERLAY_VAR = "DEPLOY_OVERLAY"


@dataclass(frozen=True)
class Layered:
    raw: dict[str, Any]              # the merged mapping, without `extends:` and `secrets:`
    secrets: frozenset[str]          # every layer's `secrets:` list, joined
    files: tuple[str, ...]           # the layers as shown, base first, overlay last


def merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`: mappings key by key (recursively), anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return over


def shown_path(file: Path, root: Path) -> str:
    """A file as messages name it: relative to the project root when under it."""
    for path, folder in ((Path(os.path.abspath(file)), Path(os.path.abspath(root))),
                         (file.resolve(), root.resolve())):
        try:
            return str(path.relative_to(folder))
        except ValueError:
            continue
    return str(file)


def load_layers(file: Path, root: Path, context: dict[str, str],
                read: Callable[[Path, str], Any]) -> Layered:
    """The environment file with its bases, then $DEPLOY_OVERLAY when set."""
    layered = _chain(file, root, context, read)
    overlay = os.environ.get(OVERLAY_VAR, "").strip()
    if not overlay:
        return layered
    path = Path(os.path.expanduser(overlay))
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise ConfigError(f"{OVERLAY_VAR}: {overlay} is not a file (an overlay YAML merged over "
                          f"{shown_path(file, root)})")
    top = _chain(path, root, context, read)
    return Layered(merge(layered.raw, top.raw), layered.secrets | top.secrets, layered.files + top.files)


def _chain(file: Path, root: Path, context: dict[str, str], read: Callable[[Path, str], Any]) -> Layered:
    """One file and the bases it extends, merged base first."""
    layers: list[tuple[str, dict]] = []
    seen: list[Path] = []
    secrets: frozenset[str] = frozenset()
    current: Path | None = file
    while current is not None:
        shown = shown_path(current, root)
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join([*(shown_path(p, root) for p in seen), shown])
            raise ConfigError(f"{shown_path(seen[-1], root)}: {EXTENDS_KEY}: a cycle: {cycle}")
        seen.append(resolved)
        raw = read(current, shown)
        if not isinstance(raw, dict):
            raise ConfigError(f"{shown}: expected a mapping at the top level")
        secrets |= declared_secrets(raw, shown, context)
        base = raw.pop(EXTENDS_KEY, None)
        layers.append((shown, raw))
        current = _base_of(current, base, shown) if base is not None else None
    merged: dict[str, Any] = {}
    for _, raw in reversed(layers):
        merged = merge(merged, raw)
    return Layered(merged, secrets, tuple(shown for shown, _ in reversed(layers)))


def _base_of(file: Path, base: Any, shown: str) -> Path:
    if not isinstance(base, str) or not base.strip() or "${" in base:
        raise ConfigError(f"{shown}: {EXTENDS_KEY}: expected the path of a base file, like base/fleet.yaml")
    path = Path(base.strip())
    path = path if path.is_absolute() else file.parent / path
    if not path.is_file():
        raise ConfigError(f"{shown}: {EXTENDS_KEY}: {base.strip()} does not exist (looked for {path})")
    return path

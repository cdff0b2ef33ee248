"""Rendering of the Jinja2 templates in templates/ (env file, process-manager configs).

A project root may hold its own templates/ that override the shipped ones by name. Undefined
variables are errors, so a template and the code that fills it cannot drift apart silently.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from deploy.secrets import MASK
from deploy.config.shipped import shipped

SHIPPED = shipped("templates")
_BARE = re.compile(r"^[A-Za-z0-9_./:@,+=%-]*$")


def envquote(value: object) -> str:
    """A value for a KEY=VALUE env file as dotenv reads it: bare when safe, else quoted."""
    text = str(value)
    if _BARE.match(text) or text == MASK:  # a masked secret (dry run) shows as *** unquoted
        return text
    if "'" not in text and "\n" not in text:
        return f"'{text}'"  # single quotes are literal for dotenv: nothing to escape
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def supervisor_value(value: object) -> str:
    """supervisord expands %(name)s in its values: a literal % is written %%."""
    return str(value).replace("%", "%%")


@lru_cache(maxsize=8)
def _environment(root: str | None) -> jinja2.Environment:
    import jinja2  # here, not at the top: loaded when a file is rendered (0.07 s), not by every importer

    folders = [str(Path(root) / "templates")] if root and (Path(root) / "templates").is_dir() else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, str(SHIPPED)]),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=False, lstrip_blocks=False,
    )
    env.filters["envquote"] = envquote
    env.filters["sv"] = supervisor_value
    return env


def render(name: str, root: str | None = None, **context: object) -> str:
    """Render templates/<name> with context (the project root's copy wins when present)."""
    text = _environment(root).get_template(name).render(**context)
    return text if text.endswith("\n") else text + "\n"

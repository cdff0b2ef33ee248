"""Where the web assets live and how app.js is put together, for SSR and the static build alike."""

from __future__ import annotations

from pathlib import Path
from string import Template

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
APP_JS_PARTS = ("bucketing.js", "page.js")


def template(name: str) -> Template:
    return Template((WEB_DIR / "templates" / name).read_text(encoding="utf-8"))


def app_js() -> str:
    """bucketing.js then page.js: one file, so the static site needs a single script tag."""
    return "\n".join((WEB_DIR / "static" / part).read_text(encoding="utf-8") for part in APP_JS_PARTS)


def styles_css() -> str:
    return (WEB_DIR / "static" / "styles.css").read_text(encoding="utf-8")

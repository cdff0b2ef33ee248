"""Build a release folder (the runbook's `npm run build`):

    python3 -m marketplace.build --out DIR [--version V]

DIR gets the Python package, the schema and web assets (so SSR runs from DIR), VERSION when
--version is given, and public/: the static site (index.html, seller.html, app.js,
styles.css) for hosting without the SSR process. flag.json is not built in; it is written at
deploy time by `python3 -m marketplace.web --write-flag-json DIR/public`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from string import Template

from . import assets

SOURCE_ROOT = Path(__file__).resolve().parent.parent
COPIED = ("marketplace", "schema", "web")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def render_static(public: Path, version: str) -> list[Path]:
    public.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("index.html", "seller.html"):
        shell = Template((assets.WEB_DIR / "public" / name).read_text(encoding="utf-8"))
        written.append(_write(public / name, shell.substitute(version=version)))
    written.append(_write(public / "app.js", assets.app_js()))
    written.append(_write(public / "styles.css", assets.styles_css()))
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def build(out: Path, version: str | None) -> list[Path]:
    if out.resolve() == SOURCE_ROOT or SOURCE_ROOT in out.resolve().parents and out.resolve().name in COPIED:
        raise ValueError("--out must not be the source folder or one of its parts")
    out.mkdir(parents=True, exist_ok=True)
    for name in (*COPIED, "public"):
        # Replace only what this build owns, so a careless --out cannot wipe other files.
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in COPIED:
        shutil.copytree(SOURCE_ROOT / name, out / name, ignore=_IGNORE)
    version_file = out / "VERSION"
    if version:
        version_file.write_text(version.strip() + "\n", encoding="utf-8")
    effective = version or (version_file.read_text(encoding="utf-8").strip() if version_file.exists() else "dev")
    return render_static(out / "public", effective)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m marketplace.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="release folder to (re)write")
    parser.add_argument("--version", help="release version, written to OUT/VERSION")
    args = parser.parse_args(argv)
    try:
        written = build(Path(args.out), args.version)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"built {args.out}: {len(written)} static files, version {args.version or 'unset'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

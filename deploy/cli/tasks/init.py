"""Start a deploy repository."""

from __future__ import annotations

from pathlib import Path

from invoke import task
from invoke.exceptions import Exit

from deploy.cli.task import ContractTask
from deploy.errors import EXIT_BAD_INPUT
from deploy.config.shipped import shipped

STARTER = "templates/init/local.yaml"
IGNORED = (".env", ".work/")


def plan(target: Path) -> list[tuple[Path, Path | None]]:
    """(file to write, shipped source or None for generated ones), in writing order."""
    files: list[tuple[Path, Path | None]] = [(target / "environments" / "local.yaml", shipped(STARTER))]
    for folder in ("checks", "sql"):
        source = shipped(folder)
        files += [(target / folder / p.relative_to(source), p) for p in sorted(source.rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts]
    return files


@task(klass=ContractTask, help={"dir": "the folder to start the repository in (default: --root, else the "
                                       "current folder); existing files are kept, never overwritten"})
def init(c, dir=None):
    """Start a deploy repository: environments/local.yaml, checks/, sql/, .env (a random JWT_SECRET)."""
    import secrets              # these load when the task runs, not at `invoke --list`
    import shutil

    from deploy.config import environment as config  # config (pydantic) and output (rich) load when the task runs
    from deploy.output.console import Output

    out = Output()
    target = Path(dir).expanduser().resolve() if dir else config.project_root()
    if target.exists() and not target.is_dir():
        out.error(f"--dir: {target} is not a folder")
        raise Exit(code=EXIT_BAD_INPUT)
    written, kept = [], []
    for path, source in plan(target):
        if path.exists():
            kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        written.append(path)
    app = target / "app"           # the starter's apps.api.source: put (or link) the API here
    if not app.exists():
        app.mkdir(parents=True)
        (app / ".gitkeep").write_text("")
        written.append(app / ".gitkeep")
    env_file = target / ".env"
    if env_file.exists():
        kept.append(env_file)
    else:
        env_file.write_text(f"JWT_SECRET={secrets.token_urlsafe(48)}\n")
        env_file.chmod(0o600)
        written.append(env_file)
    ignore = target / ".gitignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    missing = [line for line in IGNORED if line not in lines]
    if missing:
        ignore.write_text("\n".join([*lines, *missing]) + "\n")
        written.append(ignore)
    out.line(f"{target}: wrote {len(written)} file(s), kept {len(kept)} existing")
    for path in written:
        out.line(f"  + {path.relative_to(target)}")
    out.line("next: edit environments/local.yaml (apps.api), then "
             "`marketplace-deploy checks.preflight --env local`")

"""The xdist controller rewrites the test modules once, before its workers start.

Each xdist worker collects the whole suite, and pytest rewrites every test module's asserts
before importing it; the result is cached as a .pyc in __pycache__ (tests/conftest.py keeps
bytecode writing on for that). In a fresh checkout - CI's clone - the cache is empty and the 4
workers, starting together, all rewrote all ~130 modules: ~5 CPU-s each. Here the controller
fills the cache first (it does not collect, so it had nothing to do meanwhile), through pytest's
own rewrite functions, and the workers find it. A module the workers would not rewrite costs
only its rewriting here; one missing here is rewritten by the workers as before.

Uses pytest internals (_pytest.assertion.rewrite); if they change, it does nothing.
"""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    config = session.config
    if sys.dont_write_bytecode or config.pluginmanager.getplugin("dsession") is None:
        return                                   # not the controller of an xdist run
    try:
        from _pytest.assertion.rewrite import (PYC_TAIL, _read_pyc, _rewrite_test, _write_pyc,
                                               assertstate_key, get_cache_dir, try_makedirs)
        state = config.stash[assertstate_key]
    except (ImportError, KeyError):
        return
    if state.hook is None:                       # --assert=plain
        return
    try:
        for fn in candidate_files(config):
            cache_dir = get_cache_dir(fn)
            if not try_makedirs(cache_dir):
                continue
            pyc = cache_dir / (fn.name[:-3] + PYC_TAIL)
            if _read_pyc(fn, pyc, state.trace) is None:
                try:
                    source_hash, co = _rewrite_test(fn, config)
                except SyntaxError:
                    continue                     # the worker's collection reports it
                _write_pyc(state, co, source_hash, pyc)
    except Exception:   # noqa: BLE001 - private functions whose signatures may change: then the workers rewrite
        return


def candidate_files(config) -> list[Path]:
    """The files under the run's paths that match python_files, outside norecursedirs."""
    patterns = config.getini("python_files")
    skip = config.getini("norecursedirs")
    found: set[Path] = set()
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        candidates = [path] if path.is_file() else path.rglob("*.py") if path.is_dir() else []
        for fn in candidates:
            parts = fn.relative_to(path).parts[:-1] if fn != path else ()
            if any(fnmatch.fnmatch(part, pat) for part in parts for pat in skip):
                continue
            if any(fnmatch.fnmatch(fn.name, pat) for pat in patterns):
                found.add(fn)
    return sorted(found)

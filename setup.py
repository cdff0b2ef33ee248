"""Build hook: the wheel carries the shipped templates/, checks/ and sql/ inside the package
(deploy/_shipped/), so `pip install .` gives a tool that works outside a checkout. The checkout
keeps them at the top level, where users of the repository edit them (deploy/config/shipped.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("templates", "checks", "sql")


class BuildWithShippedFiles(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return              # an editable install reads them from the checkout
        target = Path(self.build_lib) / "deploy" / "_shipped"
        for folder in SHIPPED:
            if target.joinpath(folder).exists():
                shutil.rmtree(target / folder)
            shutil.copytree(HERE / folder, target / folder,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithShippedFiles})

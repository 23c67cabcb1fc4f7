"""Build hook: the wheel carries the migrations and the web app under `api/_bundled/`.

The repository keeps `alembic/`, `alembic.ini` and `pwa/` at the top level, where developers expect them;
a plain `pip install .` must still be able to migrate and serve, so the wheel gets a copy of them inside
the `api` package (`api/resources.py` looks there first, then beside the source tree). Copying the whole
directories (rather than listing globs) means a new page, script or migration cannot be left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = ("alembic", "alembic.ini", "pwa")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


class BuildPyWithAppFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads them from the source tree
            return
        target = Path(self.build_lib) / "api" / "_bundled"
        # A build directory left from an earlier build must not keep files deleted since.
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in BUNDLED:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=_IGNORE)
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithAppFiles})

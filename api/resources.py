"""Where the files that are not Python modules live: the migrations and the web app.

A wheel carries them inside the package (`api/_bundled/`, filled by the build hook in setup.py); a source
checkout (and an editable install) has them at the top of the repository. The bundled copy wins: next to
an installed package, `site-packages/alembic` is the Alembic library itself, not our migrations.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_bundled"
SOURCE_ROOT = PACKAGE_DIR.parent


def resource_path(name: str) -> Path:
    """`alembic`, `alembic.ini` or `pwa`, from the installed package or else the source tree."""
    bundled = BUNDLED_DIR / name
    if bundled.exists():
        return bundled
    return SOURCE_ROOT / name

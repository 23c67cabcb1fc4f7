"""A plain install works: the wheel is built, installed into a fresh virtual environment, and its
`safegrid` command migrates, loads the demo town and serves every page from the installed package.

The fresh environment gets the wheel alone (`--no-deps`) and sees the test environment's packages through
a path file: the test is then quick and needs no network, and it still proves what it is about, that
the wheel carries the migrations and the web app and finds them without the source tree (it runs in a
directory of its own, and the source tree is never on its path). The dependencies themselves are checked
by `test_declared_dependencies_are_installed` below.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "data",
    "build",
    "dist",
    "test-artifacts",
    "node_modules",
    "__pycache__",
    "*.egg-info",
    ".*_cache",
    "_bundled",
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin directory of a fresh environment holding the built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so the build leaves nothing in the working tree and sees no stale build dir.
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", source)
    wheels = list((tmp / "dist").glob("safegrid-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheels[0])
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    # A bare path line: the directory is searched after the wheel's, and its .pth files (among them
    # the editable install of this checkout) are not run.
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    yield venv / "bin"
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_wheel_runs_from_its_own_files(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGRID_") and k != "PYTHONPATH"}
    env |= {"SAFEGRID_DATA_DIR": str(tmp_path / "data"), "PYTHONDONTWRITEBYTECODE": "1"}
    where = _run(installed / "python", "-c", "import api; print(api.__file__)", cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout

    assert "database is up to date" in _run(installed / "safegrid", "migrate", cwd=tmp_path, env=env).stdout
    _run(installed / "safegrid", "demo", "--password", "wheel-demo-pass", cwd=tmp_path, env=env)
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [installed / "safegrid", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        pages = {"/": "安格", "/report": "安全隐患举报", "/docs": "swagger", "/redoc": "redoc"}
        if (ROOT / "pwa" / "console" / "index.html").is_file():
            pages["/console/"] = "<html"
        for path, needle in pages.items():
            r = httpx.get(base + path, timeout=10)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            assert needle.lower() in r.text.lower(), (path, r.text[:300])
        for asset in ("/sw.js", "/js/app.js", "/report/app.js", "/manifest.webmanifest"):
            assert httpx.get(base + asset, timeout=10).status_code == 200, asset
        r = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "admin", "password": "wheel-demo-pass"}, timeout=10
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        r = httpx.get(f"{base}/api/v1/checklists", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200 and len(r.json()) >= 3, r.text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_declared_dependencies_are_installed() -> None:
    """Every dependency the package declares is installed at a version its bound admits."""
    for line in metadata.requires("safegrid") or []:
        req = Requirement(line)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        version = metadata.version(req.name)
        assert req.specifier.contains(version, prereleases=True), (req.name, version, str(req.specifier))


def test_constraints_pin_every_dependency_within_its_bounds() -> None:
    """constraints.txt pins each declared dependency (runtime and dev) at a version the bounds admit."""
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_canonical(name)] = version
    for line in metadata.requires("safegrid") or []:
        req = Requirement(line)
        assert _canonical(req.name) in pins, f"{req.name} is not pinned in constraints.txt"
        version = pins[_canonical(req.name)]
        assert req.specifier.contains(version, prereleases=True), (req.name, version, str(req.specifier))


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_the_image_installs_the_wheel_not_the_source_tree() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = [line for line in dockerfile.splitlines() if "pip install" in line or "pip wheel" in line]
    assert any("pip wheel" in line for line in installs), installs
    assert any(".whl" in line and "pip install" in line for line in installs), installs
    assert not any(" -e " in f" {line} " or "--editable" in line for line in installs), installs
    # The final image copies no source tree: only the built wheel comes from the build stage.
    final = dockerfile.split("\nFROM ")[-1]
    assert "COPY api" not in final and "COPY --from=build /dist" in final

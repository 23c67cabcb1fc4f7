"""The deployment files parse and agree with the settings (no Docker engine is needed for this)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from api.config import DEV_SECRET, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_describes_db_and_api() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert set(compose["services"]) == {"db", "api"}
    api = compose["services"]["api"]
    assert api["build"] == "."
    env = api["environment"]
    assert env["SAFEGRID_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["SAFEGRID_ENV"] == "production"
    assert "SAFEGRID_SECRET_KEY" in env
    assert (ROOT / "Dockerfile").is_file()


def test_compose_config_when_docker_compose_is_available() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed; the YAML check above covers the file")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        env={"SAFEGRID_SECRET_KEY": "x" * 40, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr.decode()


def test_production_refuses_placeholder_secret() -> None:
    with pytest.raises(ValueError, match="SAFEGRID_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET)
    with pytest.raises(ValueError):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key="k" * 40).env == "production"

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.resources import resource_path

# Secrets shipped in the repository for development; production refuses to start with them.
DEV_SECRET = "dev-only-secret-change-me"
PLACEHOLDER_SECRETS = {DEV_SECRET, "", "changeme", "change-me", "secret"}


def server_processes() -> int:
    """How many server processes `safegrid serve` started (it sets WEB_CONCURRENCY for them): what each
    process may take of the machine's shared budgets (database connections, cores for image work)."""
    try:
        return max(1, int(os.environ.get("WEB_CONCURRENCY") or 1))
    except ValueError:
        return 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEGRID_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    # Keys the HMAC of public receipts and report idempotency keys; never stored in the database.
    secret_key: str = DEV_SECRET

    token_ttl_hours: int = 24 * 14
    max_upload_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    photo_long_side: int = 2048
    thumbnail_long_side: int = 320
    # A large JPEG may be stored up to this fraction under photo_long_side when libjpeg can then decode it
    # at 1/2, 1/4 or 1/8 scale with no resize (a 4000x3000 photo becomes 2000x1500, about 4x faster).
    photo_draft_tolerance: float = 0.05

    # Failed sign-ins are counted over a window, per username from one client address, per client
    # address, per username from everywhere and over everyone. Past each threshold every further failure
    # locks that key for 1, 2, 4 … seconds up to its cap: a lock that others can cause (per username,
    # global) stays short, so nobody can keep a user from signing in with the right password.
    login_window_seconds: int = 15 * 60
    login_max_failures: int = 5  # one username from one address; its lock may reach the whole window
    login_max_failures_per_client: int = 50  # one address, all usernames
    # Phones on a carrier's network share few addresses (CGNAT): one guesser must not keep a village's
    # inspectors out for long, so the per-address lock stays short and only slows the guessing down.
    login_client_lock_max_seconds: int = 60
    login_max_failures_per_user: int = 20  # one username, all addresses
    login_user_lock_max_seconds: int = 60
    login_max_failures_global: int = 500  # everyone
    login_global_lock_max_seconds: int = 10

    report_max_photos: int = 5
    report_max_description: int = 4000
    report_rate_per_client_per_hour: int = 10
    report_rate_global_per_minute: int = 120
    receipt_lookup_rate_per_client_per_minute: int = 20

    # Addresses of reverse proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips, e.g.
    # "127.0.0.1"). Empty: forwarding headers are ignored and the peer address is the client.
    forwarded_allow_ips: str = ""

    escalation_sweep_seconds: int = 600
    # How often expired or revoked tokens and finished sign-in throttle rows are deleted (0: never).
    prune_interval_seconds: int = 3600
    # The issuing office printed on notices; unset, it is named after the town at the root of the area tree.
    office_name: str | None = None
    # A YAML table of inspection frequencies replacing api/reference/schedules.yaml (same layout).
    schedule_file: Path | None = None
    major_deadline_days_cap: int = 3
    # Days after a rectification is submitted (its day in Asia/Shanghai) by which it must be verified (复查).
    verification_days: int = Field(default=3, ge=0, le=365)
    pwa_dir: Path = Field(default_factory=lambda: resource_path("pwa"))

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32):
            raise ValueError(
                "SAFEGRID_SECRET_KEY must be set to a random value of 32+ characters in production"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'safegrid.db').resolve()}"

    @property
    def photo_dir(self) -> Path:
        return self.data_dir / "photos"


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""The one reader of the environment: every setting leadflow has, typed and documented.

Each field maps to ``LEADFLOW_<NAME>`` (or a line of ``.env``); ``docs/configuration.md`` lists them all.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default is SQLite at <data_dir>/leadflow.db"
    )
    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    base_domain: str = "localhost"
    default_tenant: str | None = None

    secret_key: SecretStr | None = None
    previous_secret_keys: list[SecretStr] = Field(default_factory=list)
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    login_failures_per_account: int = 5
    login_failures_per_ip: int = 30
    login_throttle_window_seconds: int = 15 * 60

    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    tenant_cache_seconds: float = 30.0

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'leadflow.db'}"

    def signing_keys(self) -> list[str]:
        """Current key first, then the previous ones that still verify (rotation)."""
        current = self.secret_key.get_secret_value() if self.secret_key else self._local_secret()
        return [current, *(k.get_secret_value() for k in self.previous_secret_keys)]

    def _local_secret(self) -> str:
        # Without a configured key (embedded default), keep one per data dir so tokens survive restarts.
        if self.env == "prod":
            raise RuntimeError("LEADFLOW_SECRET_KEY must be set in production")
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""The one reader of the environment: every setting leadflow has, typed and documented.

Each field maps to ``LEADFLOW_<NAME>`` (or a line of ``.env``); ``docs/configuration.md`` lists them all.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default is SQLite at <data_dir>/leadflow.db"
    )
    migration_database_url: str | None = Field(
        default=None,
        description="URL of the owner role that runs `leadflow migrate` (PostgreSQL); default: the database URL. "
        "With both set, the app connects as a non-owner role subject to row-level security",
    )
    database_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="PostgreSQL: give up opening a connection after this long (then 503)"
    )
    database_statement_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="PostgreSQL, the server's requests: give up on a statement (or on waiting for a pooled "
        "connection) after this long, so an unreachable database answers 503 instead of hanging requests",
    )
    worker_statement_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="PostgreSQL, the worker's handlers: give up on a statement after this long, so a stuck query "
        "fails its handler (retried with backoff, then dead-lettered) instead of hanging the worker",
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

    form_posts_per_ip_per_minute: int = Field(
        default=10, ge=1, description="Lead form posts one IP may make per form and minute (spam guard)"
    )
    form_posts_per_form_per_minute: int = Field(default=600, ge=1, description="Posts per form and minute, all IPs")

    # A tenant's walls (noisy neighbour); each may be raised or lowered per tenant in tenants.settings["limits"].
    tenant_ingest_requests_per_minute: int = Field(
        default=30_000, ge=1, description="Segment calls and form posts one tenant may make per minute"
    )
    tenant_hook_requests_per_minute: int = Field(
        default=3000,
        ge=1,
        description="Webhook deliveries (WhatsApp, Meta, Chatwoot…) one tenant may receive per minute",
    )
    tenant_api_requests_per_minute: int = Field(
        default=6000, ge=1, description="Authenticated API calls one tenant may make per minute"
    )
    tenant_events_per_day: int = Field(
        default=5_000_000, ge=1, description="Events one tenant may send per day (its local day); more are refused"
    )

    console_secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "Console session cookies: `always` = `__Host-` names + Secure (https only); `never` = plain names (the"
            " http://localhost demo); `auto` = decided per request by its scheme (behind a TLS proxy run uvicorn"
            " with --proxy-headers so the scheme is https)"
        ),
    )
    console_vendor_dir: Path | None = Field(
        default=None, description="Where the console's npm packages are (default: <checkout>/web/node_modules)"
    )

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    worker_in_process: bool = Field(
        default=False, description="Run the bus worker inside `leadflow serve` (`leadflow demo` always does)"
    )
    extra_handler_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Modules a worker imports at start besides every leadflow.<feature>.handlers (comma-separated)",
    )
    crash_at: (
        Literal["after_claim", "after_handler_before_commit", "after_commit_before_settle", "after_side_effect"] | None
    ) = Field(default=None, description="Crash tests only: a worker SIGKILLs itself when it reaches this point")

    bus_transport: Literal["db", "redis"] = Field(
        default="db",
        description="How bus messages reach `leadflow worker`: db (the outbox is the queue) or redis (Redis Streams "
        "carry them; needs LEADFLOW_REDIS_URL)",
    )
    bus_stream: str = Field(
        default="leadflow:bus", min_length=1, max_length=200, description="The Redis stream of the redis transport"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics answers only a scraper sending it as a Bearer token (set it in production)",
    )

    webhooks_allow_loopback: bool = Field(
        default=False,
        description="Tests only: let partner webhooks and other user-supplied URLs reach 127.0.0.0/8 and ::1 "
        "(nothing else is relaxed); refused in production",
    )
    webhooks_disable_after_days: float = Field(
        default=5.0, gt=0, description="Disable a partner webhook endpoint whose deliveries failed for this long"
    )
    webhooks_timeout_seconds: float = Field(default=15.0, gt=0, description="Budget of one webhook delivery attempt")
    hubspot_base_url: str = Field(default="https://api.hubapi.com", description="HubSpot API base URL (fakes in tests)")
    pipedrive_base_url: str = Field(
        default="https://api.pipedrive.com", description="Pipedrive API base URL (fakes in tests)"
    )

    @field_validator("extra_handler_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        # The environment gives one string: "a.handlers,b.handlers" (a JSON list is accepted too).
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [name.strip() for name in value.split(",") if name.strip()]

    @model_validator(mode="after")
    def _no_crash_points_in_production(self) -> Self:
        if self.env == "prod" and self.crash_at is not None:
            raise ValueError("LEADFLOW_CRASH_AT is for crash tests; it may not be set in production")
        if self.env == "prod" and self.webhooks_allow_loopback:
            raise ValueError("LEADFLOW_WEBHOOKS_ALLOW_LOOPBACK is for tests; it may not be set in production")
        if self.bus_transport == "redis" and not self.redis_url:
            raise ValueError("LEADFLOW_BUS_TRANSPORT=redis needs LEADFLOW_REDIS_URL")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'leadflow.db'}"

    @property
    def effective_migration_url(self) -> str:
        """The owner's URL for migrations; one URL (SQLite, `make demo`) serves both."""
        return self.migration_database_url or self.effective_database_url

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

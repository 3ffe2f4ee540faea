"""Typed settings from `LABORWATCH_*` environment variables; bad values fail at start."""

from __future__ import annotations

import base64
import binascii
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_DATABASE_URL = "sqlite+aiosqlite:///var/laborwatch.db"


class Settings(BaseSettings):
    """Everything a laborwatch process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LABORWATCH_", extra="ignore", frozen=True)

    database_url: str = EMBEDDED_DATABASE_URL
    kafka_bootstrap_servers: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    jurisdictions_dir: Path | None = None
    hotline_webhook_secret: str | None = None
    secret_key: str | None = None
    time_scale: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    # Where the embedded default keeps its generated secret key; ignored when SECRET_KEY is set.
    var_dir: Path = Path("var")
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    # How long a relay or a consumer that found only a few events waits for more, so that the
    # events of the next moments share its transaction (latency for fewer transactions).
    batch_linger_seconds: float = Field(default=0.01, ge=0, le=1)
    # How many monitoring alerts a second intake files at most: a monthly upload's alerts come
    # all at once, and live reports must not queue behind them.
    monitoring_alerts_per_second: float = Field(default=200, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_seconds: float = Field(default=0.2, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # How long a process trusts an API key it found live; a revocation takes up to this long.
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    # Where people reach this deployment: one-click acknowledgement links point here.
    # Unset: the served process itself, http://{HOST}:{PORT}.
    public_url: str | None = None
    # Where people open the console, for the links in messages that lead to a page of it (a
    # case's form). Unset: PUBLIC_URL, as where one address serves everything.
    console_public_url: str | None = None
    # Reminders before a reporting deadline, as fractions of the limit (0.5 = half-way).
    reminder_fractions: tuple[float, ...] = (0.5, 0.9)
    deadline_poll_seconds: float = Field(default=0.5, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_seconds: float = Field(default=2.0, ge=0)
    # How long a webhook delivery waits for the receiver's answer before it counts as failed.
    delivery_timeout_seconds: float = Field(default=10, gt=0, le=60)
    ack_link_ttl_hours: float = Field(default=72, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "laborwatch@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # Failed authentications a client may make in a minute before it is answered 429.
    auth_failures_per_minute: int = Field(default=30, ge=1)
    # Outbound targets (body channels, subscriptions) on loopback, link-local or unspecified
    # addresses are refused unless this is true (a test or a one-machine demonstration).
    allow_local_targets: bool = False
    # Reporters' and callers' personal data is erased this long after the incident closed.
    personal_data_retention_days: float = Field(default=365, ge=0)
    # Sharing with partner departments: each call's timeout, the retries' backoff (doubling
    # from `backoff`, at most `backoff_max`) for `retry_hours`, calls in flight per subscription.
    sharing_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    sharing_backoff_seconds: float = Field(default=10.0, ge=0)
    sharing_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    sharing_retry_hours: float = Field(default=24.0, ge=0)
    sharing_per_subscription: int = Field(default=2, ge=1, le=32)
    sharing_poll_seconds: float = Field(default=0.5, gt=0)
    # How long a rotated subscription secret still signs beside the new one.
    sharing_secret_overlap_hours: float = Field(default=24.0, ge=0)

    @field_validator("reminder_fractions")
    @classmethod
    def _fractions(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < f < 1 for f in value):
            raise ValueError("each reminder fraction must be between 0 and 1 (exclusive)")
        return tuple(sorted(set(value)))

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                "must start with postgresql+asyncpg:// or sqlite+aiosqlite:// "
                f"(got {value.split('://', 1)[0]}://…)"
            )
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("hotline_webhook_secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith("whsec_"):
            raise ValueError("must be 'whsec_' followed by base64")
        try:
            raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise ValueError("the part after 'whsec_' is not valid base64") from exc
        if len(raw) < 16:
            raise ValueError("the decoded secret must be at least 16 bytes")
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -base64 32`)")
        return value

    @model_validator(mode="after")
    def _secret_required_outside_embedded(self) -> Settings:
        if self.secret_key is None and not self.is_embedded:
            raise ValueError(
                "LABORWATCH_SECRET_KEY is required with PostgreSQL or Kafka: it encrypts "
                "personal data at rest, so it must be the same for every process"
            )
        return self

    @property
    def is_embedded(self) -> bool:
        """Say whether this is the embedded default: SQLite and the in-process bus."""
        return self.database_url.startswith("sqlite") and self.kafka_bootstrap_servers is None

    @property
    def is_sqlite(self) -> bool:
        """Say whether the database is SQLite."""
        return self.database_url.startswith("sqlite")

    @property
    def effective_public_url(self) -> str:
        """PUBLIC_URL, or the address this process serves on."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def effective_console_url(self) -> str:
        """CONSOLE_PUBLIC_URL, or PUBLIC_URL's."""
        return self.console_public_url or self.effective_public_url

    @property
    def drill(self) -> bool:
        """Say whether policy durations are scaled down for an exercise."""
        return self.time_scale != 1.0

    @cached_property
    def effective_secret_key(self) -> str:
        """Return SECRET_KEY, or the embedded default's own key, made once under `var/`."""
        if self.secret_key is not None:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

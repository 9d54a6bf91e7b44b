"""One settings object, read from ``ACUHEAD_*`` environment variables.

Production refuses the development secret and demo accounts: a clinic that forgets to set
a secret must find out at start-up, not after a breach.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - the sentinel production refuses


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACUHEAD_", env_file=None, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite file under data_dir
    secret_key: str = DEV_SECRET
    session_hours: int = 12
    login_max_failures: int = 5
    login_window_seconds: int = 300
    # Idempotency keys (services/idempotency.py) are kept this long, then pruned as new keys
    # are written: longer than a phone plausibly stays offline with entries queued.
    idempotency_days: int = Field(default=30, ge=1, le=3650)
    demo_accounts: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    # Server processes for `acuhead serve`. One suits SQLite (a single writer anyway); on
    # PostgreSQL, one per core lets requests use every core (docs/deploying.md).
    workers: int = Field(default=1, ge=1, le=64)
    # E-mail reminders (services/mail.py, services/reminders.py): an empty host turns them off.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    mail_from: str = "acuhead <noreply@localhost>"
    base_url: str = "http://127.0.0.1:8000"  # where the links in e-mails point
    # The safety gate (domain/readiness.py): how long a completed SNNOOP10 intake screen
    # stays current. 12 months is a product choice, not a published figure (docs/safety-gate.md).
    screen_valid_months: int = Field(default=12, ge=1, le=60)
    # Request bodies (web/limits.py): 413 past the size while it streams in, 408 when the
    # whole body has not arrived within the time; imports of a patient record get their own
    # size.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_import_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    # /docs and /openapi.json (web/api_docs.py); unset: on, except in production.
    api_docs: bool | None = None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "ACUHEAD_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production"
                )
            if self.demo_accounts:
                raise ValueError("ACUHEAD_DEMO_ACCOUNTS must be false in production")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'acuhead.sqlite3').resolve()}"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def api_docs_on(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production


@cache
def get_settings() -> Settings:
    return Settings()

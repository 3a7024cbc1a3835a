"""Configuration in one place, read from the environment (and a `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from komawari.scheduling.values import check_zone


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("komawari"))


class Settings(BaseSettings):
    """Every setting Komawari reads; environment names are `KOMAWARI_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix="KOMAWARI_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KOMAWARI_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL URL; when unset, an embedded server is used.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Folder for the embedded database and backups.",
    )
    default_timezone: str = Field(default="Asia/Tokyo", description="IANA zone of new branches.")
    horizon_days: int = Field(default=56, ge=1, le=3660, description="Generation horizon.")
    generation_interval_minutes: int = Field(
        default=60, ge=0, description="Periodic generation inside `serve`; 0 turns it off."
    )
    generation_cron: str | None = Field(
        default=None,
        description="When generation runs, as cron (5 fields, or 6 with seconds last); "
        "unset: every generation_interval_minutes.",
    )
    generation_batch_size: int = Field(default=2000, ge=1, description="Series per batch.")
    schedule_cache: int = Field(
        default=32, ge=0, description="MB of built day schedules kept per process; 0: off."
    )
    # Notices (docs/notifications.md). Neither channel set: messages are kept, not sent.
    smtp_url: str | None = Field(
        default=None, description="smtp://host:port or smtps://user:password@host:port."
    )
    mail_from: str = Field(default="komawari@localhost", description="The notices' From.")
    line_channel_token: str | None = Field(
        default=None, description="The LINE Official Account's channel access token."
    )
    line_api_url: str = Field(
        default="https://api.line.me", description="The LINE Messaging API's address."
    )
    line_monthly_quota: int = Field(
        default=200, ge=0, description="Messages a month the LINE plan includes."
    )
    notice_window_seconds: int = Field(
        default=600, ge=0, description="A person's changes within it make one message."
    )
    notice_lease_seconds: float = Field(
        default=120, gt=0, description="How long a sender holds the messages it took."
    )
    notice_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a message goes to the dead letters."
    )

    # Linking a family's LINE account to its contact (notices/line_link.py, line_webhook.py).
    line_channel_secret: str | None = Field(
        default=None, description="The LINE channel's secret: it signs LINE's webhook calls."
    )
    line_friend_url: str = Field(
        default="", description="The school's LINE friend link (https://lin.ee/...); empty: none."
    )
    line_link_code_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="Hours a LINE link code stays valid."
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("line_friend_url")
    @classmethod
    def _https_link(cls, value: str) -> str:
        # Shown as a link and a QR code on the contact page: a web address, nothing else.
        if value and not value.startswith("https://"):
            raise ValueError("the LINE friend link starts with https://")
        return value

    @property
    def pgdata_dir(self) -> Path:
        """Return the embedded server's data folder."""
        return self.data_dir / "pgdata"

    @property
    def backup_dir(self) -> Path:
        """Return the default folder for backups."""
        return self.data_dir / "backups"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached)."""
    return Settings()

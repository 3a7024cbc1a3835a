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
    generation_batch_size: int = Field(default=2000, ge=1, description="Series per batch.")
    schedule_cache: int = Field(
        default=32, ge=0, description="MB of built day schedules kept per process; 0: off."
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

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

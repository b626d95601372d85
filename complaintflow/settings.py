"""Settings read from the environment (``COMPLAINTS_*``) and overridden by CLI options.

Nothing reads settings at import time: call :func:`load_settings` where they are needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///complaintflow.db"


class Settings(BaseSettings):
    """Everything complaintflow can be configured with."""

    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the case database")
    workflow_files: list[Path] = Field(
        default_factory=list, description="extra workflow definitions to load beside the shipped ones"
    )
    default_workflow: str = Field("complaint", description="workflow new complaints start in")
    pseudonym_key: SecretStr | None = Field(
        None, description="secret of the keyed hash that pseudonymises customers (default: read from the key file)")
    pseudonym_key_file: Path | None = Field(
        None, description="file holding the pseudonym key, made by `complaints init` (default: DATA_DIR/pseudonym.key)")
    intake_batch_size: int = Field(500, ge=1, le=100_000)
    root_cause_taxonomy: Path | None = Field(
        None, description="root-cause taxonomy YAML (default: the one shipped in root_cause/taxonomy.yaml)"
    )

    # -- ops: scheduled flows (complaints schedule / run / flows) -----------------------------
    data_dir: Path = Field(Path(".complaintflow"), description="working files: Prefect server home, import inbox")
    import_dir: Path | None = Field(None, description="folder watched by the import flow (default: DATA_DIR/inbox)")
    import_settle_seconds: float = Field(30, ge=0, le=3600, description="an inbox file unchanged this long is complete")
    sweep_batch_size: int = Field(500, ge=1, le=100_000, description="timers fired per sweep task")
    schedule_timezone: str = Field("UTC", description="time zone the cron schedules are read in")
    schedule_sla_sweep: str = Field("every 1m", description="'every 90s|15m|1h|1d' or a 5-field cron")
    schedule_follow_ups: str = Field("every 15m")
    schedule_auto_close: str = Field("every 1h")
    schedule_root_cause: str = Field("0 2 * * *")
    schedule_metrics: str = Field("55 23 * * *")
    schedule_import_folder: str = Field("every 5m")

    @property
    def inbox(self) -> Path:
        return self.import_dir or self.data_dir / "inbox"

    @property
    def key_file(self) -> Path:
        return self.pseudonym_key_file or self.data_dir / "pseudonym.key"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})

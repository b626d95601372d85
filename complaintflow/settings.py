"""Settings read from the environment (``COMPLAINTS_*``) and overridden by CLI options.

Nothing reads settings at import time: call :func:`load_settings` where they are needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from complaints.errors import ConfigurationError

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
    database_pool_size: int | None = Field(
        None, ge=1, le=1000, description="connections a process keeps open to the database, and requests the API "
                                         "works on at once (default: the cores + 1 on SQLite, 16 on PostgreSQL)")
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
    schedule_deliver_outbox: str = Field("every 1m")
    schedule_read_replies: str = Field("every 1m")

    # -- letters: delivery and replies (docs/letters.md) --------------------------------------
    smtp_host: str | None = Field(None, description="SMTP server letters are sent through (unset: no e-mail)")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = Field(True, description="upgrade the connection with STARTTLS before logging in")
    smtp_user: str | None = Field(None, description="login name, if the server wants one")
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(30.0, gt=0, le=600, description="seconds to wait for the SMTP server")
    smtp_ca_file: Path | None = Field(None, description="CA certificates the SMTP server's is checked against "
                                                        "(default: the system's)")
    mail_from: str = Field("Complaints <complaints@localhost>", description="From: of the letters sent by e-mail")
    mail_reply_to: str | None = Field(None, description="Reply-To: the mailbox whose mail reaches the reply folder")
    message_id_domain: str | None = Field(None, description="domain ending each Message-ID (default: mail_from's)")
    webhook_url: str | None = Field(None, description="gateway letters are POSTed to (SMS, post); unset: none")
    webhook_secret: SecretStr | None = Field(None, description="key of the HMAC-SHA256 signature of each POST")
    webhook_timeout: float = Field(10.0, gt=0, le=600)
    letter_routes: dict[str, str] = Field(
        default_factory=lambda: {"phone": "webhook", "letter": "webhook", "*": "smtp"},
        description="complaint channel -> smtp or webhook ('*': every other channel)")
    quality_team_address: str | None = Field(
        None, description="where root-cause notices go when their alert's owner has no e-mail address")
    rc_notice_channel: str = Field("smtp", pattern="^(smtp|webhook)$",
                                   description="channel root-cause notices are sent through: smtp or webhook")
    outbox_batch_size: int = Field(100, ge=1, le=10_000, description="letters claimed at once by a sender")
    outbox_max_attempts: int = Field(8, ge=1, le=100, description="attempts before a letter fails for good")
    outbox_claim_seconds: int = Field(300, ge=10, le=86_400,
                                      description="how long a claimed letter is its sender's before another resends it")
    reply_dir: Path | None = Field(None, description="folder of .eml replies (default: DATA_DIR/replies)")
    attachment_dir: Path | None = Field(None, description="where attachments are kept (default: DATA_DIR/attachments)")
    attachment_max_bytes: int = Field(10_000_000, ge=1, description="the largest attachment kept")
    reply_max_bytes: int = Field(25_000_000, ge=1, description="the largest message read; larger ones fail")
    reply_product: str = Field("Not stated (by e-mail)",
                               description="the product of a complaint opened from an unmatched e-mail")

    # -- the HTTP API and console (docs/api.md) ----------------------------------------------
    session_secret: SecretStr | None = Field(
        None, description="key that signs session cookies (default: read from DATA_DIR/session.key, made if missing)")
    session_max_age: int = Field(12 * 3600, ge=60, le=30 * 86_400, description="seconds a sign-in lasts")
    session_cookie_secure: bool = Field(False, description="send the session cookie over HTTPS only")
    api_max_body_bytes: int = Field(2_000_000, ge=1_000, le=100_000_000,
                                    description="the largest request body the API reads (larger: 413)")

    @property
    def session_key_file(self) -> Path:
        return self.data_dir / "session.key"

    @property
    def inbox(self) -> Path:
        return self.import_dir or self.data_dir / "inbox"

    @property
    def key_file(self) -> Path:
        return self.pseudonym_key_file or self.data_dir / "pseudonym.key"

    @property
    def replies(self) -> Path:
        return self.reply_dir or self.data_dir / "replies"

    @property
    def attachments(self) -> Path:
        return self.attachment_dir or self.data_dir / "attachments"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides on top; a value that
    can't be read is a ConfigurationError naming its variable, not pydantic's report."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigurationError("Invalid settings: " + "; ".join(_problem(e) for e in exc.errors())) from exc
    except SettingsError as exc:  # a list or mapping that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        field = found.group(1) if found else ""
        example = JSON_EXAMPLES.get(field, "")
        raise ConfigurationError(f"Invalid settings: COMPLAINTS_{field.upper()}: not valid JSON ({exc.__cause__}); "
                                 f"write it as JSON{', e.g. ' + example if example else ''}") from exc


#: How the settings read as JSON are written.
JSON_EXAMPLES = {"workflow_files": """'["/etc/complaintflow/retail.yaml"]'""",
                 "letter_routes": """'{"phone": "webhook", "*": "smtp"}'"""}


def _problem(error: Any) -> str:
    """One line for one setting: its variable, what is wrong, and the value given (never a secret's)."""
    field = str(error["loc"][0]) if error["loc"] else ""
    info = Settings.model_fields.get(field)
    secret = info is None or "SecretStr" in str(info.annotation)
    return f"COMPLAINTS_{field.upper()}: {error['msg']}" + ("" if secret else f" (got {error['input']!r})")

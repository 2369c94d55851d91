"""The one `Settings` object: every `NURTURE_` environment variable nurture reads."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The repository (or installed tree) root: templates and `.nurture/` live beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = Path(".nurture")

#: The built-in values of the secrets: fine for `nurture dev`, refused in production
#: (`models.config_check`).
DEV_SECRET_KEY = "dev-insecure-secret-change-me"
DEV_API_TOKEN = "dev-api-token"
#: The ESP simulator's API key and address (`nurture simulator`, `nurture dev`).
SIMULATOR_API_KEY = "SG.dev-simulator-key"
SIMULATOR_HOST = "http://localhost:8025"

#: A list read from one environment variable as comma-separated values (not JSON).
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Configuration read from `NURTURE_*` variables (and an optional `.env`)."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = Field(
        "production",
        description="`production` (the default): `nurture api` and `nurture worker` refuse "
        "built-in or weak secrets and the simulator (`nurture check-config`); `dev`: anything "
        "goes (`nurture dev`, the tests and the bench set it).",
    )

    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Where the embedded stack keeps its files."
    )
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite under data_dir.")
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = Field(
        False, description="TLS to Temporal (implied by a client certificate or an API key)."
    )
    temporal_tls_cert: Path | None = Field(
        None, description="mTLS client certificate (PEM file), e.g. for Temporal Cloud."
    )
    temporal_tls_key: Path | None = Field(None, description="Its private key (PEM file).")
    temporal_tls_ca: Path | None = Field(
        None, description="Root CA of a self-hosted cluster's server certificate (PEM file)."
    )
    temporal_tls_server_name: str | None = Field(
        None, description="Server name to verify, when it differs from the address's host."
    )
    temporal_api_key: str | None = Field(
        None, description="Temporal Cloud API key (instead of mTLS certificates)."
    )
    task_queue: str = "nurture"
    deployment_name: str = Field(
        "",
        description='Temporal Worker Versioning (docs/architecture.md, "Changing a sequence '
        'safely"): the worker deployment this worker belongs to, with NURTURE_BUILD_ID. Empty '
        "(the default): an unversioned worker.",
    )
    build_id: str = Field(
        "",
        description="This worker's build (a release tag or commit) in NURTURE_DEPLOYMENT_NAME: "
        "enrollments stay on the build they started on; promote a build with `temporal worker "
        "deployment set-current-version`.",
    )
    temporal_ui_url: str = Field(
        "http://localhost:8233",
        description="Temporal UI base URL: the dashboard links each enrollment to its workflow.",
    )

    sendgrid_api_key: str = SIMULATOR_API_KEY
    sendgrid_host: str = SIMULATOR_HOST
    sendgrid_timeout_seconds: float = Field(10.0, gt=0, description="Per-call timeout to SendGrid.")
    sendgrid_webhook_public_key: str = ""

    secret_key: str = Field(
        DEV_SECRET_KEY, description="Signs unsubscribe, reply and opt-in tokens and sessions."
    )
    previous_secret_keys: CommaList = Field(
        default_factory=list,
        description="Comma-separated keys that still verify tokens signed before a rotation "
        "(keep each at least 60 days: links in mail already sent).",
    )
    api_token: str = Field(
        DEV_API_TOKEN,
        description="Bearer token of /api and the dashboard (one more of API_TOKENS).",
    )
    api_tokens: CommaList = Field(
        default_factory=list,
        description="Comma-separated bearer tokens accepted at once, for a rolling change.",
    )
    public_url: str = "http://localhost:8000"
    inbound_domain: str = "inbound.localhost"

    templates_dir: Path = PROJECT_ROOT / "templates"
    sequences: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Modules (or packages) of your own sequences, comma-separated "
        "(`my_company.sequences`): the worker, the API and the CLI load them beside nurture's "
        "own; each sequence's templates are in `templates/<name>/` beside its module.",
    )

    # Abuse: per client address, per API process (0: no limit).
    login_rate_limit: int = Field(
        10, ge=0, description="Dashboard login attempts a minute per client address."
    )
    link_rate_limit: int = Field(
        60,
        ge=0,
        description="Requests a minute per client address for pages linked from emails "
        "(/u/ unsubscribe, /c/ opt-in confirmation).",
    )

    # Webhooks and replies.
    inbound_parse_password: str = Field(
        "",
        description="If set, Inbound Parse posts must carry HTTP Basic auth with this password "
        "(configure the URL in SendGrid as https://nurture:PASSWORD@host/webhooks/sendgrid/inbound).",
    )
    webhook_max_bytes: int = Field(5_000_000, gt=0, description="Larger event batches get 413.")
    webhook_replay_window_seconds: int = Field(
        300, ge=0, description="Signed timestamps older or newer are refused."
    )
    soft_bounce_limit: int = Field(
        3, ge=1, description="Soft bounces before an address is suppressed."
    )
    away_default_days: int = Field(
        7, ge=1, description="Pause after an out-of-office without a return date."
    )
    forwarder_poll_seconds: float = Field(
        1.0, gt=0, description="How often the forwarder looks for leftovers."
    )

    # Deliverability guardrails.
    contact_weekly_cap: int = Field(
        4,
        ge=1,
        description="Emails per contact per 7 days, all sequences (trade_intro sends up to 4).",
    )
    health_window_days: float = Field(
        30, gt=0, description="Rolling window of sender health rates."
    )
    max_complaint_rate: float = Field(
        0.001, gt=0, description="Complaint rate that pauses a sender."
    )
    max_hard_bounce_rate: float = Field(
        0.02, gt=0, description="Hard-bounce rate that pauses a sender."
    )
    block_burst: int = Field(5, ge=1, description="Blocks within an hour that pause a sender.")

    # Retention (docs/architecture.md, "Retention"): Temporal Schedules the worker keeps.
    event_retention_days: int = Field(
        400,
        ge=1,
        description="ESP events, business events and delivered outbox rows older than this are "
        "pruned daily (never less than the sender-health window; funnels keep their counts).",
    )
    maintenance_hour_utc: int = Field(
        3,
        ge=0,
        le=23,
        description="UTC hour of the daily prune (:00) and sender DNS re-check (:30).",
    )

    # Replies and the people told about them (docs/architecture.md, "Replies").
    reply_classifier: str = Field(
        "",
        description="`package.module:callable` classifying replies instead of the built-in "
        "rules (a `models.replies.ReplyClassifier`).",
    )
    notify_url: str = Field(
        "", description="Where interested and wrong-person replies are POSTed (empty: nowhere)."
    )
    notify_secret: str = Field(
        "", description="Signs each notification: X-Nurture-Signature = HMAC-SHA256 of the body."
    )
    notify_timeout_seconds: float = Field(10.0, gt=0, description="Per-attempt timeout.")

    # Logs and metrics.
    log_format: Literal["console", "json"] = Field(
        "console", description="`console`: pretty, for a terminal; `json`: one object a line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    worker_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="If set, the worker serves Temporal SDK metrics at :PORT/metrics.",
    )
    worker_metrics_host: str = Field(
        "127.0.0.1", description="Where the worker's metrics listen (0.0.0.0 in a container)."
    )

    @model_validator(mode="after")
    def _notifications_are_signed(self) -> Settings:
        if self.notify_url:
            if not self.notify_url.startswith(("https://", "http://")):
                raise ValueError("NURTURE_NOTIFY_URL must be an http:// or https:// URL")
            if not self.notify_secret:
                raise ValueError(
                    "NURTURE_NOTIFY_SECRET is required when NURTURE_NOTIFY_URL is set: "
                    "every notification is signed with it"
                )
        return self

    @model_validator(mode="after")
    def _deployment_and_build_together(self) -> Settings:
        if bool(self.deployment_name) != bool(self.build_id):
            raise ValueError(
                "NURTURE_DEPLOYMENT_NAME and NURTURE_BUILD_ID turn on Worker Versioning together: "
                "set both or neither"
            )
        return self

    @field_validator("previous_secret_keys", "api_tokens", "sequences", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def verification_keys(self) -> tuple[str, ...]:
        """The keys a signed token may carry: the current one first, then the previous ones."""
        previous = [k for k in self.previous_secret_keys if k != self.secret_key]
        return (self.secret_key, *previous)

    @property
    def accepted_api_tokens(self) -> tuple[str, ...]:
        """Every bearer token accepted now: NURTURE_API_TOKENS, and NURTURE_API_TOKEN when it was
        set (its built-in default counts only while NURTURE_API_TOKENS is empty). Empty: closed."""
        tokens = list(self.api_tokens)
        if self.api_token and ("api_token" in self.model_fields_set or not tokens):
            tokens.append(self.api_token)
        return tuple(dict.fromkeys(tokens))

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    # Ports of `nurture dev`.
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    api_port: int = 8000
    simulator_port: int = 8025

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nurture.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()

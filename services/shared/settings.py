"""Settings common to every service, read from ``SPN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.subjects import DEFAULT_NAMESPACE


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPN_", extra="ignore")

    nats_url: str = Field("nats://127.0.0.1:4222", description="SPN_NATS_URL")
    nats_credentials: Path | None = Field(
        None, description="SPN_NATS_CREDENTIALS: the service's NATS credential file (user "
        "and password; spn up makes one per service); none: connect without")
    database_url: str | None = Field(
        None, description="SPN_DATABASE_URL, e.g. postgresql://spn@db:5432/spn (spn up sets it)"
    )
    db_schema: str = Field("public", description="SPN_DB_SCHEMA: PostgreSQL schema for tables")
    namespace: str = Field(
        DEFAULT_NAMESPACE,
        pattern=r"^[a-z][a-z0-9-]{0,30}$",
        description="SPN_NAMESPACE: prefix of every subject and stream name",
    )
    http_host: str = Field(
        "127.0.0.1", description="SPN_HTTP_HOST: where /health and /metrics bind"
    )
    log_level: str = Field("INFO", description="SPN_LOG_LEVEL")
    plan_year_start: int = Field(
        7, ge=2, le=12, validation_alias="SPN_PLAN_YEAR_START",
        description="the plan year's first month (7: July to June); the same for every "
        "service and the CLI, set before the first plan (contracts.periods reads it)",
    )  # fmt: skip
    ack_wait: float = Field(
        300.0, gt=0, validation_alias="SPN_ACK_WAIT",
        description="seconds a message fetched from a stream may go unacknowledged before "
        "NATS delivers it again (the tracked position keeps a redelivery from counting twice)",
    )  # fmt: skip
    relay_check_seconds: float = Field(
        30.0, gt=0, validation_alias="SPN_RELAY_CHECK_SECONDS",
        description="how often a relay compares the events stream with its event store "
        "(and refills the stream if it lacks events, e.g. after a purge); also at every start",
    )  # fmt: skip
    audit_key_dir: Path = Field(
        Path(".spn-data/audit"), validation_alias="SPN_AUDIT_KEY_DIR",
        description="where each service keeps the Ed25519 key that signs its checkpoints "
        "(<service>.ed25519, made on first start): outside the database",
    )  # fmt: skip
    audit_checkpoint_seconds: float = Field(
        300.0, gt=0, validation_alias="SPN_AUDIT_CHECKPOINT_SECONDS",
        description="how often a checkpoint of new events is signed (and after each close)",
    )  # fmt: skip

"""Settings of the local stack and the CLI, from ``SPN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.subjects import DEFAULT_NAMESPACE


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPN_", extra="ignore")

    data_dir: Path = Field(Path(".spn-data"), description="NATS and PostgreSQL data, logs")
    nats_url: str | None = Field(None, description="an external NATS server; unset: embedded")
    nats_port: int = Field(4222, description="port of the embedded NATS server")
    database_url: str | None = Field(None, description="an external PostgreSQL; unset: embedded")
    namespace: str = DEFAULT_NAMESPACE
    http_host: str = "127.0.0.1"
    plans_http_port: int = 8101
    status_http_port: int = 8102
    rollup_http_port: int = 8103
    startup_timeout: float = 60.0

    @property
    def client_nats_url(self) -> str:
        """Where the CLI finds NATS: the external server, else the embedded one."""
        return self.nats_url or f"nats://127.0.0.1:{self.nats_port}"

"""Settings of the local stack and the CLI, from ``SPN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.subjects import DEFAULT_NAMESPACE
from spn.stack.credentials import operator_path


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPN_", extra="ignore")

    data_dir: Path = Field(Path(".spn-data"), description="NATS and PostgreSQL data, logs")
    plan_year_start: int = Field(
        7, ge=2, le=12, validation_alias="SPN_PLAN_YEAR_START",
        description="the plan year's first month (7: July to June); the same for every "
        "service and the CLI, set before the first plan (contracts.periods reads it)",
    )  # fmt: skip
    nats_url: str | None = Field(None, description="an external NATS server; unset: embedded")
    nats_port: int = Field(4222, description="port of the embedded NATS server")
    nats_credentials: Path | None = Field(
        None, description="the CLI's NATS credential file (an organization's, from spn org "
        "credentials); unset: the operator's of the data directory, when there is one")
    nats_auth_file: Path | None = Field(
        None, description="with an external NATS: the file spn writes its users to (the "
        "operator's, each service's, each organization's; spn nats users), which the "
        "server's configuration includes; unset: spn makes no users for an external NATS")
    database_url: str | None = Field(None, description="an external PostgreSQL; unset: embedded")
    namespace: str = DEFAULT_NAMESPACE
    http_host: str = "127.0.0.1"
    plans_http_port: int = 8101
    status_http_port: int = 8102
    rollup_http_port: int = 8103
    alerts_http_port: int = 8104
    smtp_host: str | None = Field(
        None, description="an SMTP server for the alerts; unset: a local sink writing .eml files"
    )
    smtp_sink_port: int = Field(2525, description="port of the local SMTP sink")
    prometheus: bool | None = Field(
        None, description="run an embedded Prometheus (the Debian package's binary) that "
        "scrapes the stack with deploy/prometheus's jobs and rules; unset: spn up does "
        "not, spn demo does when the binary is installed"
    )
    prometheus_port: int = Field(9090, description="port of the embedded Prometheus")
    prometheus_interval: str = Field("5s", pattern=r"^\d+(ms|s|m)$",
                                     description="its scrape and rule evaluation interval")
    startup_timeout: float = 60.0
    restart_limit: int = Field(
        5, ge=0, description="restarts of one process within restart_window; more: stop the stack"
    )
    restart_window: float = Field(600.0, gt=0, description="seconds the restart limit counts")
    health_interval: float = Field(
        5.0, ge=0, description="seconds between checks of /health and external servers; 0: none"
    )

    @property
    def client_credentials(self) -> Path | None:
        """The credential the CLI connects with: the one named, else the operator's of
        the embedded stack (made by spn up), else none."""
        if self.nats_credentials is not None:
            return self.nats_credentials
        if self.nats_url is not None and self.nats_auth_file is None:
            return None  # an external server spn made no users for: never the embedded one's
        operator = operator_path(self.data_dir)
        return operator if operator.exists() else None

    @property
    def spn_users(self) -> bool:
        """spn makes the NATS users: of its embedded server, or of an external one given
        an authorization file."""
        return self.nats_url is None or self.nats_auth_file is not None

    @property
    def client_nats_url(self) -> str:
        """Where the CLI finds NATS: the external server, else the embedded one."""
        return self.nats_url or f"nats://127.0.0.1:{self.nats_port}"

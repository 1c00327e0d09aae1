"""Settings of the rollup service."""

from pydantic import Field

from services.shared.settings import ServiceSettings


class RollupSettings(ServiceSettings):
    http_port: int = Field(8103, validation_alias="SPN_ROLLUP_HTTP_PORT")
    batch_size: int = Field(500, ge=1, le=5000, validation_alias="SPN_ROLLUP_BATCH_SIZE")

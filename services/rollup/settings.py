"""Settings of the rollup service."""

from pydantic import Field

from services.shared.settings import ServiceSettings


class RollupSettings(ServiceSettings):
    http_port: int = Field(8103, validation_alias="SPN_ROLLUP_HTTP_PORT")
    batch_size: int = Field(500, ge=1, le=5000, validation_alias="SPN_ROLLUP_BATCH_SIZE")
    behind_pct: float = Field(25.0, validation_alias="SPN_WANING_BEHIND_PCT")
    lag_points: float = Field(20.0, validation_alias="SPN_WANING_LAG_POINTS")
    lag_periods: int = Field(2, ge=1, validation_alias="SPN_WANING_LAG_PERIODS")
    declining_falls: int = Field(2, ge=1, validation_alias="SPN_WANING_DECLINING_FALLS")

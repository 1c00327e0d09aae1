"""Settings of the status service."""

from pydantic import Field

from services.shared.settings import ServiceSettings


class StatusSettings(ServiceSettings):
    http_port: int = Field(8102, validation_alias="SPN_STATUS_HTTP_PORT")
    batch_size: int = Field(
        500, ge=1, le=5000, validation_alias="SPN_STATUS_BATCH_SIZE",
        description="reports taken per transaction",
    )  # fmt: skip
    auto_close_days: int = Field(
        5, validation_alias="SPN_STATUS_AUTO_CLOSE_DAYS",
        description="close a month this many days after it ends; 0 or less: never",
    )  # fmt: skip
    auto_close_check_seconds: float = Field(
        3600, gt=0, validation_alias="SPN_STATUS_AUTO_CLOSE_CHECK_SECONDS"
    )
    park_seconds: float = Field(
        86400, gt=0, validation_alias="SPN_STATUS_PARK_SECONDS",
        description="keep a report whose plan is not known yet this long, waiting for the "
        "plan's approval; then reject it as unknown_plan",
    )  # fmt: skip
    cached_plans: int = Field(
        20000, ge=1, validation_alias="SPN_STATUS_CACHED_PLANS",
        description="plans kept in memory (least recently used beyond: read again from the "
        "store when needed); about 100 kB each at the end of a school year",
    )  # fmt: skip

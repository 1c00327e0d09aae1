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
    case_schools_per_practice: int = Field(
        3, ge=1, validation_alias="SPN_CASE_SCHOOLS_PER_PRACTICE",
        description="Schools of one LEA waning on one practice that open an LEA case",
    )  # fmt: skip
    support_rise_points: float = Field(
        10.0, gt=0, validation_alias="SPN_SUPPORT_RISE_POINTS",
        description="A support worked if actions on time % rose by this many points...",
    )  # fmt: skip
    support_reaches_pct: float = Field(
        75.0, gt=0, le=100, validation_alias="SPN_SUPPORT_REACHES_PCT",
        description="...or reached this %",
    )  # fmt: skip
    support_judged_after: int = Field(
        2, ge=1, validation_alias="SPN_SUPPORT_JUDGED_AFTER",
        description="Closed periods after a support before it is judged",
    )  # fmt: skip
    metrics_schools: int = Field(
        500, ge=0, validation_alias="SPN_ROLLUP_METRICS_SCHOOLS",
        description="Schools on the metrics' watch list (an open flag or case, the furthest "
        "behind first) that get per-school and per-strategy series",
    )  # fmt: skip
    metrics_periods: int = Field(
        12, ge=1, validation_alias="SPN_ROLLUP_METRICS_PERIODS",
        description="Periods of the state's month-by-month series",
    )  # fmt: skip
    metrics_seconds: float = Field(
        10.0, gt=0, validation_alias="SPN_ROLLUP_METRICS_SECONDS",
        description="At most this often the domain metrics are computed again (when changed)",
    )  # fmt: skip

"""Settings of the plans service."""

from pydantic import Field

from services.shared.settings import ServiceSettings


class PlansSettings(ServiceSettings):
    http_port: int = Field(8101, validation_alias="SPN_PLANS_HTTP_PORT")

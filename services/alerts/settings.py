"""Settings of the alerts service."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, SecretStr, model_validator

from services.shared.settings import ServiceSettings


class Webhook(BaseModel):
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr = Field(description="whsec_ + base64, as Standard Webhooks has it")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. America/Chicago)") from None
    return name


TimeZone = Annotated[str, AfterValidator(_zone)]


class RecipientPreference(BaseModel):
    mode: str = Field("immediate", pattern="^(immediate|digest)$")
    time_zone: TimeZone = "UTC"


def _check_link(value: str) -> str:
    try:
        value.format(organization="o", plan="o/2026-27", term="2026-Q2")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"a report link may name {{organization}}, {{plan}} and {{term}} "
                         f"only ({error!r} in {value!r})") from None  # fmt: skip
    return value


ReportLink = Annotated[str, AfterValidator(_check_link)]


class AlertsSettings(ServiceSettings):
    http_port: int = Field(8104, validation_alias="SPN_ALERTS_HTTP_PORT")
    batch_size: int = Field(500, ge=1, le=5000, validation_alias="SPN_ALERTS_BATCH_SIZE")
    group_wait: float = Field(
        180.0, ge=0, validation_alias="SPN_ALERTS_GROUP_WAIT",
        description="seconds a recipient's first new alert waits for others (what one period "
        "close raises) before they go out as one message",
    )  # fmt: skip
    dispatch_seconds: float = Field(
        1.0, gt=0, validation_alias="SPN_ALERTS_DISPATCH_SECONDS",
        description="how often messages due are composed and sent",
    )  # fmt: skip
    time_zone: TimeZone = Field("UTC", validation_alias="SPN_ALERTS_TIME_ZONE",
                           description="time zone of the dates a message shows")  # fmt: skip
    preferences: dict[str, RecipientPreference] = Field(
        default_factory=dict, validation_alias="SPN_ALERTS_PREFERENCES",
        description='JSON: {"<address or organization>": {"mode": "digest", "time_zone": '
        '"America/Chicago"}}; digest: one message a day at SPN_ALERTS_DIGEST_HOUR',
    )  # fmt: skip
    report_attach: bool = Field(
        False, validation_alias="SPN_ALERTS_REPORT_ATTACH",
        description="Attach the quarterly report (PDF, made at delivery from what the plans, "
        "status and rollup services answer) to the email that shares it",
    )  # fmt: skip
    report_timeout: float = Field(
        30.0, gt=0, validation_alias="SPN_ALERTS_REPORT_TIMEOUT",
        description="Seconds to wait for each answer a report is made of",
    )  # fmt: skip
    max_age_days: float = Field(
        14.0, ge=0, validation_alias="SPN_ALERTS_MAX_AGE_DAYS",
        description="a fact whose event is older than this when the service first sees it "
        "(a first start on a stream of years) is kept as a stale alert, not sent; 0: no limit",
    )  # fmt: skip
    digest_hour: int = Field(7, ge=0, le=23, validation_alias="SPN_ALERTS_DIGEST_HOUR")
    report_link: ReportLink | None = Field(
        None, validation_alias="SPN_ALERTS_REPORT_LINK",
        description="Where a quarterly report is read, shared with the district liaison "
        "when a quarter closes: a URL with {organization}, {plan} and {term} (e.g. "
        "https://reports.example.org/{plan}/{term}.pdf); unset: the spn command that makes it",
    )  # fmt: skip
    retry_first_delay: float = Field(5.0, gt=0, validation_alias="SPN_ALERTS_RETRY_FIRST")
    retry_max_delay: float = Field(600.0, gt=0, validation_alias="SPN_ALERTS_RETRY_MAX")
    max_attempts: int = Field(
        12, ge=1, validation_alias="SPN_ALERTS_MAX_ATTEMPTS",
        description="attempts before a message is marked failed (spn alerts resend)",
    )  # fmt: skip
    smtp_host: str = Field("127.0.0.1", validation_alias="SPN_SMTP_HOST")
    smtp_port: int = Field(2525, validation_alias="SPN_SMTP_PORT")
    smtp_security: str = Field(
        "none", pattern="^(none|starttls|tls)$", validation_alias="SPN_SMTP_SECURITY",
        description="none, starttls, or tls (implicit TLS, usually port 465)",
    )  # fmt: skip
    smtp_user: str | None = Field(None, validation_alias="SPN_SMTP_USER")
    smtp_password: SecretStr | None = Field(None, validation_alias="SPN_SMTP_PASSWORD")
    smtp_from: str = Field("SPN alerts <alerts@spn.localhost>", validation_alias="SPN_SMTP_FROM")
    smtp_timeout: float = Field(20.0, gt=0, validation_alias="SPN_SMTP_TIMEOUT")
    webhooks: dict[str, Webhook] = Field(
        default_factory=dict, validation_alias="SPN_ALERTS_WEBHOOKS",
        description='JSON: {"<organization>": {"url": ..., "secret": "whsec_..."}}; an '
        "organization's webhook gets the messages of every recipient beneath it",
    )  # fmt: skip
    webhook_timeout: float = Field(10.0, gt=0, validation_alias="SPN_ALERTS_WEBHOOK_TIMEOUT")
    webhook_retry: tuple[float, ...] = Field(
        (5, 300, 1800, 7200, 18000, 36000, 36000), validation_alias="SPN_ALERTS_WEBHOOK_RETRY",
        description="seconds before each retry of a webhook (Standard Webhooks' schedule)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _no_password_in_the_clear(self) -> AlertsSettings:
        local = self.smtp_host in ("127.0.0.1", "localhost", "::1")
        if (self.smtp_user or self.smtp_password) and self.smtp_security == "none" and not local:
            raise ValueError(
                "SMTP credentials need SPN_SMTP_SECURITY=starttls or tls: they would cross "
                f"the network to {self.smtp_host} in the clear"
            )
        return self

    def webhook_secret(self, url: str) -> str:
        return next(w.secret.get_secret_value() for w in self.webhooks.values() if w.url == url)

    def webhook_targets(self) -> dict[str, dict[str, str]]:
        return {org: {"url": w.url} for org, w in self.webhooks.items()}

"""Alerts: what a liaison was told, when, and whether it arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import EmailStr, Field

from contracts.base import Command, Part, Versioned
from contracts.organizations import OrgCode
from contracts.status import Period

AlertStatus = Literal["pending", "sending", "delivered", "failed", "stale"]


class AlertView(Part):
    alert_id: UUID
    kind: str = Field(description="waning, recovered, milestone_slipped, report_missing, "
                      "case_opened, case_escalated, support_judged or plan_adjusted")  # fmt: skip
    organization: OrgCode
    period: str
    raised_at: datetime
    details: dict[str, Any]
    status: AlertStatus = Field(
        description="pending (gathering, or waiting for its recipient's address), sending "
        "(in a message not yet delivered), delivered, failed (spn alerts resend), stale "
        "(older than SPN_ALERTS_MAX_AGE_DAYS when the service first saw it: kept, not sent)"
    )
    message_id: UUID | None = None
    to: str | None = Field(default=None, description="The address (or webhook URL) it went to")


class AlertList(Versioned):
    SCHEMA_NAME = "alert-list"
    alerts: list[AlertView]
    total: int = Field(description="How many matched; only the latest `limit` are listed")


class MessageView(Versioned):
    """One message (an email, or a webhook call): the alerts of one recipient, as rendered."""

    SCHEMA_NAME = "alert-message"
    message_id: UUID = Field(description="Also its Message-ID header: <id@spn.alerts>")
    recipient: str = Field(description="Whom: the liaison's name, or the webhook's organization")
    channel: Literal["email", "webhook"]
    target: str = Field(description="The liaison's address, or the webhook URL")
    subject: str
    text: str
    html: str
    alerts: list[UUID]
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    composed_at: datetime
    delivered_at: datetime | None


class ListAlerts(Command):
    """Alerts raised, newest last: about an organization and every one beneath it (default:
    all), of a status, in a period."""

    SCHEMA_NAME = "list-alerts"
    SUBJECT = "qry.alerts.list_alerts"
    SCOPE = "organization"
    RESULT = AlertList
    organization: OrgCode | None = None
    status: AlertStatus | None = None
    period: Period | None = None
    limit: int = Field(default=500, ge=1, le=2000, description="The latest this many")


class ShowMessage(Command):
    """The message an alert went out in (or the message of that id), as rendered."""

    SCHEMA_NAME = "show-message"
    SUBJECT = "qry.alerts.show_message"
    SCOPE = "answer"
    RESULT = MessageView
    id: UUID = Field(description="An alert id or a message id")


class ResendMessage(Command):
    """Send a failed message again (with the same Message-ID)."""

    SCHEMA_NAME = "resend-message"
    SUBJECT = "cmd.alerts.resend_message"
    RESULT = MessageView
    id: UUID = Field(description="An alert id or a message id")
    by: str = Field(min_length=1)


class TestMessageSent(Versioned):
    SCHEMA_NAME = "test-message-sent"
    to: str
    message_id: str
    delivered: bool
    error: str | None = Field(default=None, description="Why the SMTP server did not take it")


class SendTestMessage(Command):
    """Send a test message through the alerts service's SMTP settings, now (not stored)."""

    SCHEMA_NAME = "send-test-message"
    SUBJECT = "cmd.alerts.send_test_message"
    RESULT = TestMessageSent
    to: EmailStr
    by: str = Field(min_length=1)

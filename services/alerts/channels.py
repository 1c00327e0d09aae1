"""Delivery channels. Email over SMTP (aiosmtplib): the message's id is its Message-ID, the
same at every attempt, so a receiver can drop a repeat; the password is never logged.
Webhooks (httpx), signed as the Standard Webhooks specification says: ``webhook-id`` (the
message id, the same at every attempt), ``webhook-timestamp``, ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` with the endpoint's secret); a 410
Gone disables the endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
import httpx

from services.alerts.settings import AlertsSettings


class DeliveryError(Exception):
    """The channel did not take the message: it is retried, unless ``final``."""

    def __init__(self, message: str, final: bool = False):
        super().__init__(message)
        self.final = final


Attach = Callable[[dict[str, Any]], Awaitable[Sequence[Any]]]
"""What to attach to a message (each with filename, content, maintype, subtype); raises
DeliveryError when it cannot be made now."""


class SmtpChannel:
    name = "email"

    def __init__(self, settings: AlertsSettings, attach: Attach | None = None):
        self.settings = settings
        self.attach = attach

    def email(self, message: dict[str, Any], attachments: Sequence[Any] = ()) -> EmailMessage:
        email = EmailMessage()
        email["Message-ID"] = f"<{message['message_id']}@spn.alerts>"
        email["From"] = self.settings.smtp_from
        email["To"] = message["target"]
        email["Subject"] = message["subject"]
        email["Date"] = format_datetime(message["composed_at"])
        email.set_content(message["text"])
        email.add_alternative(message["html"], subtype="html")
        for item in attachments:
            email.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype,
                                 filename=item.filename)  # fmt: skip
        return email

    async def send(self, message: dict[str, Any]) -> None:
        s = self.settings
        attachments = await self.attach(message) if self.attach else []
        try:
            await aiosmtplib.send(
                self.email(message, attachments), hostname=s.smtp_host, port=s.smtp_port,
                use_tls=s.smtp_security == "tls",
                start_tls=True if s.smtp_security == "starttls" else None,  # none: if offered
                username=s.smtp_user,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout=s.smtp_timeout,
            )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as error:
            final = _refused_for_good(error)
            raise DeliveryError(f"recipient refused: {error}", final=final) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None


def _refused_for_good(error: aiosmtplib.SMTPRecipientsRefused) -> bool:
    """A 5xx reply to the recipient (no such mailbox): retrying will not help; a 4xx
    (mailbox busy, greylisted) is retried."""
    return all(500 <= refused.code < 600 for refused in error.recipients)


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: AlertsSettings):
        self.settings = settings

    def headers(self, message: dict[str, Any], timestamp: int) -> dict[str, str]:
        secret = self.settings.webhook_secret(message["target"])
        webhook_id = str(message["message_id"])
        return {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, webhook_id, timestamp, message["text"]),
        }

    async def send(self, message: dict[str, Any]) -> None:
        headers = self.headers(message, int(time.time()))
        try:
            async with httpx.AsyncClient(timeout=self.settings.webhook_timeout) as client:
                response = await client.post(message["target"], content=message["text"],
                                             headers=headers)  # fmt: skip
        except httpx.HTTPError as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None
        if response.status_code == 410:
            raise DeliveryError("410 Gone: the endpoint is disabled", final=True)
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code}")


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The Standard Webhooks signature of a body (``secret``: ``whsec_`` + base64)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()

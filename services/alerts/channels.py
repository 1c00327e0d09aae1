"""Delivery channels. Email over SMTP (aiosmtplib): the message's id is its Message-ID, the
same at every attempt, so a receiver can drop a repeat; the password is never logged."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from services.alerts.settings import AlertsSettings


class DeliveryError(Exception):
    """The channel did not take the message (it is retried)."""


class SmtpChannel:
    name = "email"

    def __init__(self, settings: AlertsSettings):
        self.settings = settings

    def email(self, message: dict[str, Any]) -> EmailMessage:
        email = EmailMessage()
        email["Message-ID"] = f"<{message['message_id']}@spn.alerts>"
        email["From"] = self.settings.smtp_from
        email["To"] = message["email"]
        email["Subject"] = message["subject"]
        email["Date"] = format_datetime(message["composed_at"])
        email.set_content(message["text"])
        email.add_alternative(message["html"], subtype="html")
        return email

    async def send(self, message: dict[str, Any]) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                self.email(message), hostname=s.smtp_host, port=s.smtp_port,
                use_tls=s.smtp_security == "tls", start_tls=s.smtp_security == "starttls",
                username=s.smtp_user,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout=s.smtp_timeout,
            )  # fmt: skip
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None

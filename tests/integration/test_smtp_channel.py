"""The SMTP channel against a real SMTP server (aiosmtpd): a recipient refused for good
fails the message at once; one refused for now is retried."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller

from services.alerts.channels import DeliveryError, SmtpChannel
from services.alerts.settings import AlertsSettings
from tests.conftest import free_port


class Refusing:
    """Refuses nobody@ for good (550) and busy@ for now (450)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def message(to: str) -> dict[str, Any]:
    return {"message_id": uuid4(), "target": to, "subject": "s", "text": "t", "html": "<p>t</p>",
            "composed_at": datetime.now(UTC)}  # fmt: skip


@pytest.mark.parametrize(("to", "final"), [("nobody@example.org", True),
                                           ("busy@example.org", False)])  # fmt: skip
async def test_a_recipient_refused_for_good_fails_at_once_and_one_refused_for_now_is_retried(
    to: str, final: bool
):
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = SmtpChannel(AlertsSettings(SPN_SMTP_PORT=port))
        await channel.send(message("liaison@example.org"))  # accepted
        with pytest.raises(DeliveryError) as refused:
            await channel.send(message(to))
        assert refused.value.final is final
        assert "refused" in str(refused.value)
    finally:
        controller.stop()

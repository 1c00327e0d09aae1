"""Settings of the alerts service refuse what would fail later, or leak."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.alerts.domain.routing import shown_target
from services.alerts.settings import AlertsSettings


def test_an_unknown_time_zone_is_refused_at_start():
    with pytest.raises(ValidationError, match="unknown time zone 'America/Chicagoo'"):
        AlertsSettings(SPN_ALERTS_TIME_ZONE="America/Chicagoo")
    with pytest.raises(ValidationError, match="unknown time zone"):
        AlertsSettings(SPN_ALERTS_PREFERENCES={"a@b.org": {"mode": "digest", "time_zone": "X"}})


def test_smtp_credentials_never_go_in_the_clear_to_another_host():
    with pytest.raises(ValidationError, match=r"would cross the network to mail\.example\.org"):
        AlertsSettings(SPN_SMTP_HOST="mail.example.org", SPN_SMTP_USER="u",
                       SPN_SMTP_PASSWORD="p")  # fmt: skip
    AlertsSettings(SPN_SMTP_HOST="mail.example.org", SPN_SMTP_USER="u", SPN_SMTP_PASSWORD="p",
                   SPN_SMTP_SECURITY="starttls")  # fmt: skip
    AlertsSettings(SPN_SMTP_HOST="127.0.0.1", SPN_SMTP_USER="u", SPN_SMTP_PASSWORD="p")


def test_a_webhook_url_is_shown_only_to_its_host():
    assert shown_target("https://hooks.example.org/t/s3cr3t?k=1") == "https://hooks.example.org/..."
    assert shown_target("pat@lea.example.org") == "pat@lea.example.org"

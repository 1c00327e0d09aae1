"""When gathered alerts go out: after the group wait, or at the digest hour, local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.alerts.domain.preferences import Preference, due_at

WAIT = timedelta(minutes=3)


def test_immediately_is_after_the_group_wait():
    oldest = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)
    assert due_at(oldest, Preference(), WAIT, 7) == oldest + WAIT


def test_a_digest_goes_at_the_next_digest_hour_in_the_recipient_s_zone():
    chicago = Preference("digest", "America/Chicago")  # UTC-6 in November
    before = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)  # 06:00 in Chicago
    assert due_at(before, chicago, WAIT, 7) == datetime(2026, 11, 5, 13, 0, tzinfo=UTC)
    after = datetime(2026, 11, 5, 13, 0, tzinfo=UTC)  # 07:00 sharp: the next day's
    assert due_at(after, chicago, WAIT, 7) == datetime(2026, 11, 6, 13, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # UTC-5 in July
    assert due_at(summer, chicago, WAIT, 7) == datetime(2026, 7, 2, 12, 0, tzinfo=UTC)

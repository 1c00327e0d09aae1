"""When a recipient's gathered alerts go out: immediately (after the group wait), or in a
daily digest at a local hour; and the time zone of the dates shown. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Preference:
    mode: str = "immediate"  # or "digest"
    time_zone: str = "UTC"


def due_at(oldest: datetime, preference: Preference, group_wait: timedelta,
           digest_hour: int) -> datetime:  # fmt: skip
    """When a message of alerts whose oldest was raised at ``oldest`` is due: the group
    wait after it, or (digest) the first ``digest_hour`` o'clock, recipient's time, after
    it."""
    if preference.mode != "digest":
        return oldest + group_wait
    zone = ZoneInfo(preference.time_zone)
    local = oldest.astimezone(zone)
    at = datetime.combine(local.date(), time(digest_hour), tzinfo=zone)
    return at if at > local else datetime.combine(
        local.date() + timedelta(days=1), time(digest_hour), tzinfo=zone)

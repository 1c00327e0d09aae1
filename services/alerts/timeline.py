"""The alerts service's part of a plan's timeline: each alert about the plan's
organization in the plan's year, and what became of the messages it went out in."""

from __future__ import annotations

from typing import Any

from services.alerts.domain.routing import KINDS, shown_target
from services.shared.timeline import Describe, Entry, entry

SERVICE = "alerts"


def alert_entry(event: Any) -> Entry:
    what = KINDS.get(event.kind, event.kind)
    stale = getattr(event, "stale", False)  # events stored before the age limit lack it
    note = " (stale: older than the age limit when first seen; not sent)" if stale else ""
    return entry(event, SERVICE, "alerts.raised", f"alert raised: {what}{note}",
                 effective=event.period, details={"alert_id": str(event.originator_id),
                                                  "kind": event.kind, **event.details})  # fmt: skip


def message_entries(events: list[Any]) -> list[Entry]:
    """A message's delivery, a final failure, a resend; each naming where it went, not
    what it said (its subject names every organization of its alerts, of other plans
    too: ``spn alerts show`` gives the message to whom it is all about)."""
    composed = events[0]
    where = f"{composed.channel} to {shown_target(composed.target)}"
    about = {"message_id": str(composed.originator_id)}

    def delivered(event: Any) -> Entry:
        return entry(event, SERVICE, "alerts.delivered",
                     f"delivered by {where} (message {composed.originator_id})",
                     details=about)  # fmt: skip

    def failed(event: Any) -> Entry | None:
        if not event.final:
            return None  # a retry, not an outcome
        return entry(event, SERVICE, "alerts.failed", f"failed for good by {where}: "
                     f"{event.error}", details=about)  # fmt: skip

    def resent(event: Any) -> Entry:
        return entry(event, SERVICE, "alerts.resent", f"resent by {event.by} ({where})",
                     who=event.by, details=about)  # fmt: skip

    described: dict[str, Describe] = {"Message.Delivered": delivered,
                                      "Message.DeliveryFailed": failed,
                                      "Message.Resent": resent}  # fmt: skip
    found = [described[type(e).__qualname__](e) for e in events
             if type(e).__qualname__ in described]  # fmt: skip
    return [e for e in found if e is not None]

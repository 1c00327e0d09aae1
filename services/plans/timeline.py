"""The plans service's part of a plan's timeline: its document's events."""

from __future__ import annotations

from typing import Any

from services.shared.timeline import Describe, Entry, entry

SERVICE = "plans"


def _drafted(event: Any) -> Entry:
    strategies = sum(len(a["strategies"]) for a in event.document.get("priority_areas", []))
    return entry(event, SERVICE, "plan.drafted", f"drafted by {event.by} ({strategies} "
                 "strategies)", who=event.by)  # fmt: skip


def _revised(event: Any) -> Entry:
    return entry(event, SERVICE, "plan.revised", f"draft revised by {event.by}", who=event.by)


def _submitted(event: Any) -> Entry:
    return entry(event, SERVICE, "plan.submitted", f"submitted by {event.by} for "
                 f"{event.organization}", who=event.by)  # fmt: skip


def _approved(event: Any) -> Entry:
    return entry(event, SERVICE, "plan.approved", f"approved by {event.organization} "
                 f"({event.by})", who=event.by)  # fmt: skip


def _returned(event: Any) -> Entry:
    return entry(event, SERVICE, "plan.returned", f"returned by {event.organization} "
                 f"({event.by}): {event.reason}", who=event.by,
                 details={"reason": event.reason})  # fmt: skip


def _adjusted(event: Any) -> Entry:
    return entry(event, SERVICE, "plan.adjusted", f"adjusted by {event.by}: {event.cause}",
                 who=event.by, details={"cause": event.cause,
                                        "justification": event.justification,
                                        "changes": list(event.changes)})  # fmt: skip


def _closed(event: Any) -> Entry:
    return entry(event, SERVICE, "plan.closed", f"closed by {event.organization} "
                 f"({event.by})", who=event.by)  # fmt: skip


DESCRIBED: dict[str, Describe] = {
    "ImprovementPlan.Drafted": _drafted,
    "ImprovementPlan.DraftRevised": _revised,
    "ImprovementPlan.Submitted": _submitted,
    "ImprovementPlan.Approved": _approved,
    "ImprovementPlan.Returned": _returned,
    "ImprovementPlan.Adjusted": _adjusted,
    "ImprovementPlan.Closed": _closed,
}

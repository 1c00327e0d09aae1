"""The rollup's part of a plan's timeline: the plan's organization's waning flags, its
support cases from opening to judgment, and the plan's measure values."""

from __future__ import annotations

from typing import Any

from services.shared.timeline import Describe, Entry, entry

SERVICE = "rollup"


def _raised(event: Any) -> Entry:
    practices = sorted({s["practice"] for s in event.strategies or []})
    on = f" on {', '.join(practices)}" if practices else ""
    return entry(event, SERVICE, "rollup.flag_raised", f"waning flag raised: {event.rule}{on}",
                 effective=event.period, details={"rule": event.rule,
                                                  "evidence": event.evidence,
                                                  "strategies": event.strategies})  # fmt: skip


def _cleared(event: Any) -> Entry:
    return entry(event, SERVICE, "rollup.flag_cleared", f"waning flag cleared: {event.rule} "
                 "no longer holds", effective=event.period,
                 details={"rule": event.rule})  # fmt: skip


def _opened(event: Any) -> Entry:
    on = f" on {event.practice}" if event.practice else ""
    return entry(event, SERVICE, "rollup.case_opened", f"support case opened{on}, addressed "
                 f"to {event.addressed_to}: {'; '.join(event.reasons)}", effective=event.opened,
                 details={"case_id": str(event.originator_id), "addressed_to": event.addressed_to,
                          "practice": event.practice, "reasons": list(event.reasons),
                          "escalated_from": event.escalated_from})  # fmt: skip


def _provided(event: Any) -> Entry:
    return entry(event, SERVICE, "rollup.support_provided", f"support by {event.provider} on "
                 f"{event.on}: {event.what}", who=event.by, effective=event.period,
                 details={"case_id": str(event.originator_id), "provider": event.provider,
                          "practice": event.practice, "on": event.on,
                          "what": event.what})  # fmt: skip


def _judged(event: Any) -> Entry:
    verdict = "effective" if event.effective else "not effective"
    return entry(event, SERVICE, "rollup.support_judged", f"support judged {verdict} (on "
                 f"time {event.on_time_before}% -> {event.on_time_after}%)",
                 effective=event.period, details={
                     "case_id": str(event.originator_id), "effective": event.effective,
                     "on_time_before": event.on_time_before,
                     "on_time_after": event.on_time_after})  # fmt: skip


def _escalated(event: Any) -> Entry:
    return entry(event, SERVICE, "rollup.case_escalated", f"support case escalated to "
                 f"{event.to}", effective=event.period,
                 details={"case_id": str(event.originator_id), "to": event.to})  # fmt: skip


def _measured(event: Any) -> Entry:
    return entry(event, SERVICE, "rollup.measure_reported", f"measure value {event.value} "
                 "reported", who=event.by, effective=event.period,
                 details={"value": event.value})  # fmt: skip


DESCRIBED: dict[str, Describe] = {
    "OrganizationWaning.Raised": _raised,
    "OrganizationWaning.Cleared": _cleared,
    "SupportCase.Opened": _opened,
    "SupportCase.SupportProvided": _provided,
    "SupportCase.Judged": _judged,
    "SupportCase.Escalated": _escalated,
    "PerformanceMeasure.ValueReported": _measured,
}

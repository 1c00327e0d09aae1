"""An organization's waning flags and support cases as the rollup knew them at a moment,
from their events only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

AFTER = {"SupportCase.Opened": "open", "SupportCase.SupportProvided": "supported",
         "SupportCase.Escalated": "escalated"}  # fmt: skip


def flags_as_of(events: Iterable[Any], moment: datetime, periods: set[str]) -> dict[str, str]:
    """Each rule raised (in one of ``periods``) and not cleared by ``moment``: the period
    it was last raised."""
    raised: dict[str, str] = {}
    for event in events:
        if event.timestamp > moment:
            break
        name = type(event).__qualname__
        if name == "OrganizationWaning.Raised" and event.period in periods:
            raised[event.rule] = event.period
        elif name == "OrganizationWaning.Cleared":
            raised.pop(event.rule, None)
    return raised


def case_status_as_of(events: Iterable[Any], moment: datetime) -> str | None:
    """A case's status after its events up to ``moment``; None if it was not open yet."""
    status = None
    for event in events:
        if event.timestamp > moment:
            break
        name = type(event).__qualname__
        if name == "SupportCase.Judged":
            status = "resolved" if event.effective else "ineffective"
        else:
            status = AFTER.get(name, status)
    return status

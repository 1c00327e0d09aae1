"""A plan's progress as the status service knew it at a moment, from its events only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def progress_as_of(key: str, events: Iterable[Any], moment: datetime) -> dict[str, Any]:
    """The figures of each period closed by ``moment``, the reports recorded by then, the
    periods found without a report and the milestones slipped by then."""
    known = [e for e in events if e.timestamp <= moment]
    found: dict[str, Any] = {"plan": key, "as_of": moment, "adopted": bool(known),
                             "reports_recorded": 0, "periods": {}, "missing": [],
                             "slipped": []}  # fmt: skip
    for event in known:
        name = type(event).__qualname__
        if name == "PlanProgress.StatusRecorded":
            found["reports_recorded"] += 1
        elif name == "PlanProgress.PeriodClosed":
            found["periods"][event.period] = {"as_of": event.as_of, "figures": event.figures}
        elif name == "PlanProgress.ReportMissing":
            found["missing"].append(event.period)
        elif name == "PlanProgress.MilestoneSlipped":
            found["slipped"].append(event.milestone)
    return found

"""Figures of several plans (or strategies) combine by summing their counts; percentages
are recomputed from the sums, never averaged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

COUNTS = (
    "actions_total", "actions_due", "actions_completed", "actions_on_time", "actions_behind",
    "milestones_total", "milestones_completed", "milestones_behind",
)  # fmt: skip


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def combine(figures: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The figures of all given plans together; None when there are none."""
    items = list(figures)
    if not items:
        return None
    total = {name: sum(int(f[name]) for f in items) for name in COUNTS}
    return total | {
        "actions_completed_pct": pct(total["actions_completed"], total["actions_total"]),
        "actions_on_time_pct": pct(total["actions_on_time"], total["actions_due"]),
        "actions_behind_pct": pct(total["actions_behind"], total["actions_due"]),
        "milestones_completed_pct": pct(total["milestones_completed"], total["milestones_total"]),
    }


def domain_of(practice: str) -> int:
    """``3B`` -> 3 (instructional transformation)."""
    return int(practice[0])

"""Interlacing implementation and outcome data per strategy (seed 004: "interlaced data").

- not_implemented: the strategy's actions are behind (behind % at or above the bar);
- implemented_not_working: actions on schedule, but a strategy measure is off its target;
- on_track: actions on schedule and every measure with a value on its target;
- no_data: no figures for the period, or no measure value yet.

A practice row of the rollup is ``waning`` when a flag raised in the period names one of
its strategies, ``behind`` when its actions are behind at or above the bar, else
``on_track`` (``no_data`` while no action is due).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ON_TRACK = "on_track"
NOT_IMPLEMENTED = "not_implemented"
NOT_WORKING = "implemented_not_working"
NO_DATA = "no_data"
WANING = "waning"
BEHIND = "behind"


def on_target(measure: Mapping[str, Any], value: float, plan_year: str) -> bool | None:
    """Whether ``value`` meets the measure's target for the plan year (None: no target)."""
    target = next((t["value"] for t in measure["targets"] if t["year"] == plan_year), None)
    if target is None:
        return None
    return value <= target if measure.get("direction") == "decrease" else value >= target


def strategy_status(
    figures: Mapping[str, Any] | None,
    measures: Sequence[tuple[Mapping[str, Any], float | None]],
    plan_year: str,
    behind_pct: float = 25.0,
) -> str:
    """``measures``: each strategy measure with its latest reported value (or None)."""
    if figures is None:
        return NO_DATA
    if (figures.get("actions_behind_pct") or 0) >= behind_pct:
        return NOT_IMPLEMENTED
    judged = [on_target(m, v, plan_year) for m, v in measures if v is not None]
    judged = [j for j in judged if j is not None]
    if not judged:
        return NO_DATA
    return ON_TRACK if all(judged) else NOT_WORKING


def practice_status(
    figures: Mapping[str, Any] | None, waning: bool, behind_pct: float = 25.0
) -> str:
    """The label of a practice row: its schools' strategies on it, taken together."""
    if waning:
        return WANING
    behind = figures.get("actions_behind_pct") if figures else None
    if behind is None:
        return NO_DATA
    return BEHIND if behind >= behind_pct else ON_TRACK

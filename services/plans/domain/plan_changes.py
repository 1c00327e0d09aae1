"""Summarize what an adjustment changed, in the plan's own numbering, for the history."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

SECTIONS = ("at_a_glance", "direction", "needs_assessment", "supports", "signatures")


def summarize_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """E.g. ``["direction changed", "action 1.1.1.2 changed", "milestone 2.1.2 added"]``."""
    changes = [f"{section} changed" for section in SECTIONS if old.get(section) != new.get(section)]
    before, after = dict(_numbered_items(old)), dict(_numbered_items(new))
    for key in sorted(before.keys() | after.keys(), key=_order):
        if key not in after:
            changes.append(f"{key[0]} {key[1]} removed")
        elif key not in before:
            changes.append(f"{key[0]} {key[1]} added")
        elif before[key] != after[key]:
            changes.append(f"{key[0]} {key[1]} changed")
    return changes


def _order(key: tuple[str, str]) -> list[int]:
    return [int(part) for part in key[1].split(".")]


def _numbered_items(doc: Mapping[str, Any]) -> Iterator[tuple[tuple[str, str], Any]]:
    """Each priority area, strategy, milestone and action, without its children."""
    for area in doc["priority_areas"]:
        yield ("priority area", str(area["number"])), _without(area, "strategies")
        for strategy in area["strategies"]:
            yield ("strategy", strategy["number"]), _without(strategy, "milestones")
            for milestone in strategy["milestones"]:
                yield ("milestone", milestone["number"]), _without(milestone, "actions")
                for action in milestone["actions"]:
                    yield ("action", action["number"]), action


def _without(item: Mapping[str, Any], children: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != children}


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each field that differs, by item in the plan's own numbering: ``{"item": "action
    1.1.1.2", "field": "due", "before": "2026-11-20", "after": "2026-12-18"}``; an item
    added or removed has ``field`` "" and the whole item on its side."""
    found: list[dict[str, Any]] = []
    for section in SECTIONS:
        found += _fields(section, old.get(section), new.get(section))
    before, after = dict(_numbered_items(old)), dict(_numbered_items(new))
    for key in sorted(before.keys() | after.keys(), key=_order):
        item = f"{key[0]} {key[1]}"
        if key not in after or key not in before:
            found.append({"item": item, "field": "", "before": before.get(key),
                          "after": after.get(key)})  # fmt: skip
        else:
            found += _fields(item, before[key], after[key])
    return found


def _fields(item: str, old: Any, new: Any) -> list[dict[str, Any]]:
    if old == new:
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        names = sorted(old.keys() | new.keys())
        return [{"item": item, "field": name, "before": old.get(name), "after": new.get(name)}
                for name in names if old.get(name) != new.get(name)]  # fmt: skip
    return [{"item": item, "field": "", "before": old, "after": new}]

"""The rules of a self-assessment against its instrument, and what it says: each area's
level, the weakest areas, the bars met, the change since an earlier one. They work on the
assessment's canonical JSON form: the plans service enforces them on every assessment it
records, the CLI checks files offline with the same code, and the rollup reads levels
with them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.instruments import FILES, Instrument, Rating, instrument
from contracts.plan_rules import Violation

Document = Mapping[str, Any]


def assessment_violations(document: Document) -> list[Violation]:
    """Every way the assessment does not fit its instrument (empty: it fits)."""
    code = document["instrument"]
    if code not in FILES:
        return [Violation("instrument", f"no instrument {code!r}; there are "
                          f"{', '.join(FILES)}")]  # fmt: skip
    tool = instrument(code)
    if document.get("instrument_version", 1) != tool.version:
        return [Violation("instrument_version", f"{code} is at version {tool.version}, not "
                          f"{document['instrument_version']}")]  # fmt: skip
    found: list[Violation] = []
    seen: set[str] = set()
    for i, rating in enumerate(document["ratings"]):
        where = f"ratings.{i}"
        element = tool.element(rating["element"])
        if element is None:
            found.append(Violation(f"{where}.element", f"{code} has no element "
                                   f"{rating['element']!r}"))  # fmt: skip
            continue
        if element.code in seen:
            found.append(Violation(f"{where}.element", f"element {element.code} is rated "
                                   "twice"))  # fmt: skip
        seen.add(element.code)
        found += _rated_as_said(where, element.code, element.rating, rating, len(tool.levels))
    missing = [e.code for e in tool.elements() if e.code not in seen]
    if missing:
        found.append(Violation("ratings", f"{len(missing)} element(s) of {code} not rated: "
                               f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"))
    areas = finding_areas(tool)
    for i, finding in enumerate(document.get("findings", [])):
        if finding["area"] not in areas:
            found.append(Violation(f"findings.{i}.area", f"{finding['area']!r} is not an area "
                                   f"of {code}: {', '.join(areas)}"))  # fmt: skip
    return found


def _rated_as_said(where: str, element: str, rating: Rating, given: Document, levels: int
                   ) -> list[Violation]:  # fmt: skip
    if given.get(rating.value) is None:
        return [Violation(where, f"element {element} is rated by {rating.value}")]
    if rating is Rating.LEVEL and not 1 <= given["level"] <= levels:
        return [Violation(f"{where}.level", f"element {element} has levels 1 to {levels}")]
    return []


def finding_areas(tool: Instrument) -> list[str]:
    """Where strengths and weaknesses may be noted: the domains of an instrument of
    practices (Tool C notes them per domain), else its groups."""
    practices = [g.practice for g in tool.groups if g.practice]
    if practices:
        return sorted({p.value[0] for p in practices})
    return [g.code for g in tool.groups]


def value_of(rating: Document) -> float:
    """A rating as a number: its level, its percent, or 1 for met and 0 for not."""
    for name in ("level", "percent"):
        if rating.get(name) is not None:
            return float(rating[name])
    return 1.0 if rating["met"] else 0.0


def area_levels(document: Document) -> list[dict[str, Any]]:
    """Each area's level (a practice of Tool C, a group otherwise), of its level elements:
    ``mean`` of their levels and ``level``, the mean rounded down; lowest mean first, then
    in the instrument's order."""
    tool = instrument(document["instrument"])
    given = {r["element"]: r for r in document["ratings"]}
    areas = []
    for order, group in enumerate(tool.groups):
        levels = [given[e.code]["level"] for e in group.elements
                  if e.rating is Rating.LEVEL and e.code in given]  # fmt: skip
        if not levels:
            continue
        mean = round(sum(levels) / len(levels), 2)
        areas.append((mean, order, {
            "area": group.practice.value if group.practice else group.code,
            "title": group.title, "elements": len(levels), "mean": mean,
            "level": math.floor(mean + 1e-9),
        }))  # fmt: skip
    return [area for _, _, area in sorted(areas, key=lambda a: (a[0], a[1]))]


def weakest(areas: Sequence[Mapping[str, Any]]) -> list[str]:
    """The areas at the lowest mean."""
    lowest = min((a["mean"] for a in areas), default=None)
    return [a["area"] for a in areas if a["mean"] == lowest]


def bars(document: Document) -> list[dict[str, Any]]:
    """Each percent element against its bar."""
    tool = instrument(document["instrument"])
    result = []
    for rating in document["ratings"]:
        element = tool.element(rating["element"])
        if element is None or element.threshold is None or rating.get("percent") is None:
            continue
        result.append({"element": element.code, "percent": rating["percent"],
                       "threshold": element.threshold,
                       "met": rating["percent"] >= element.threshold})  # fmt: skip
    return result


def element_changes(before: Document, after: Document) -> list[dict[str, Any]]:
    """Per element of the instrument, in its order: the earlier value, the later, and the
    change (later less earlier)."""
    tool = instrument(after["instrument"])
    old = {r["element"]: value_of(r) for r in before["ratings"]}
    new = {r["element"]: value_of(r) for r in after["ratings"]}
    result = []
    for element in tool.elements():
        a, b = old.get(element.code), new.get(element.code)
        change = round(b - a, 2) if a is not None and b is not None else None
        result.append({"element": element.code, "before": a, "after": b, "change": change})
    return result

"""Who gets a support case, and who is asked when a support did not work (seed 004, step 6:
responsive supports up the SEA/LEA chain). Pure functions of the period's flags, the
network and the cases already active; every threshold comes from ``CaseRules``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.rollup.domain.support_case import CaseKey, EffectivenessRule
from services.rollup.domain.waning import Flag

Organizations = Mapping[str, Mapping[str, Any]]
"""code -> {"kind": "SEA" | "LEA" | "SCHOOL", "parent": code | None, ...}"""


@dataclass(frozen=True)
class CaseRules:
    schools_per_practice: int = 3  # schools of one LEA waning on one practice: an LEA case
    effectiveness: EffectivenessRule = field(default_factory=EffectivenessRule)


@dataclass(frozen=True)
class CaseRequest:
    """A case that should be open: ``recipient`` asks ``addressed_to`` for support (about one
    ``practice``, for an LEA whose schools wane on it; about the whole plan: None)."""

    recipient: str
    addressed_to: str
    practice: str | None
    practices: list[str]
    reasons: list[str]

    @property
    def key(self) -> CaseKey:
        return self.recipient, self.addressed_to, self.practice


def cases_to_open(
    flags: Mapping[str, list[Flag]], orgs: Organizations, active: set[CaseKey], rules: CaseRules
) -> list[CaseRequest]:
    """A flagged organization asks its parent; an LEA with ``schools_per_practice`` or more
    schools waning on one practice asks its parent (the SEA) about that practice. None
    opens while the same case, or one escalated from it, is active."""
    wanted: list[CaseRequest] = []
    schools_by_practice: dict[tuple[str, str], set[str]] = {}
    for org, raised in flags.items():
        parent = orgs.get(org, {}).get("parent")
        if not parent:
            continue
        practices = sorted({s["practice"] for f in raised for s in f.strategies})
        wanted.append(CaseRequest(org, parent, None, practices, sorted({f.rule for f in raised})))
        if orgs[org].get("kind") == "SCHOOL":
            for practice in practices:
                schools_by_practice.setdefault((parent, practice), set()).add(org)
    for (lea, practice), schools in schools_by_practice.items():
        sea = orgs.get(lea, {}).get("parent")
        if sea and len(schools) >= rules.schools_per_practice:
            reason = f"{len(schools)} schools waning on {practice}: {', '.join(sorted(schools))}"
            wanted.append(CaseRequest(lea, sea, practice, [practice], [reason]))
    return sorted(
        (c for c in wanted if c.key not in active),
        key=lambda c: (c.recipient, c.addressed_to, c.practice or ""),
    )


def closes_since(closed: list[str], given: str, now: str) -> int:
    """How many closed periods came after the support's period, up to ``now``."""
    return sum(1 for period in set(closed) if given < period <= now)


def escalation_target(addressed_to: str, orgs: Organizations) -> str | None:
    """One level up from whoever gave the support that did not work (None at the top)."""
    return orgs.get(addressed_to, {}).get("parent")

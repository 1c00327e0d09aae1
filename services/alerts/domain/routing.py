"""Who is told what (seed 004: the district liaison watches each school, the SEA contact
each LEA; adjustments "are also communicated across the system"). Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = {
    "waning": "progress waning",
    "recovered": "progress recovered",
    "milestone_slipped": "milestone slipped",
    "report_missing": "report missing",
    "case_opened": "support case opened",
    "case_escalated": "support case escalated",
    "support_judged": "support judged",
    "plan_adjusted": "approved plan adjusted",
}


@dataclass(frozen=True)
class Fact:
    """Something that happened that someone must know: about an organization, in a period;
    ``what`` tells one fact of a kind from another (a rule, a milestone, a case);
    ``addressed_to``: for a support case, who is asked for support; ``occurred_at``: when
    the event that tells it was recorded."""

    kind: str
    organization: str
    period: str
    what: str
    details: Mapping[str, Any] = field(default_factory=dict)
    addressed_to: str | None = None
    occurred_at: datetime | None = None

    @property
    def key(self) -> str:
        """One alert per organization, kind, rule and period."""
        return f"{self.kind}:{self.organization}:{self.what}:{self.period}"


def responsible(about: str, addressed_to: str | None, parents: Mapping[str, str | None]
                ) -> str | None:  # fmt: skip
    """The organization whose liaison is told: the organization's own (a school's district
    liaison, an LEA's SEA contact); for a case addressed higher up, the one just beneath
    the addressee on the way up from the organization (its liaison is the addressee's
    person for it), or the organization's own when the chain does not reach the addressee
    (it moved). None for an organization with nobody above it (the SEA)."""
    own = about if parents.get(about) else None
    if addressed_to is None:
        return own
    current: str | None = about
    while current is not None and parents.get(current) != addressed_to:
        current = parents.get(current)
    return current or own


def shown_target(target: str) -> str:
    """A target as logs and listings show it: a webhook URL only to its host (its path or
    query may hold a token)."""
    if "://" not in target:
        return target
    scheme, rest = target.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}/..."

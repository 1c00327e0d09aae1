"""Who is told what (seed 004: the district liaison watches each school, the SEA contact
each LEA; adjustments "are also communicated across the system"). Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.periods import plan_year_of_term

KINDS = {
    "waning": "progress waning",
    "recovered": "progress recovered",
    "milestone_slipped": "milestone slipped",
    "report_missing": "report missing",
    "case_opened": "support case opened",
    "case_escalated": "support case escalated",
    "support_judged": "support judged",
    "plan_adjusted": "approved plan adjusted",
    "quarterly_report": "quarterly report",
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


@dataclass(frozen=True)
class QuarterClosed:
    """A quarter closed: each organization with figures in it gets its quarterly report
    shared (seed 004: "quarterly reporting is shared with the district and supports are
    discussed"), a fact per organization the application works out from its figures."""

    term: str
    periods: tuple[str, ...]
    occurred_at: datetime | None = None


def quarterly_facts(closed: QuarterClosed, figures: Sequence[Mapping[str, Any]],
                    label: str, link: str | None) -> list[Fact]:  # fmt: skip
    """One ``quarterly_report`` fact per organization with figures in the quarter (dated
    the quarter's last month, so its key is the quarter's alone), with the figures of its
    latest month in it (``link``: where the report is read, ``{organization}``, ``{plan}``
    and ``{term}`` filled in; None: the command that makes it)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in sorted(figures, key=lambda r: r["period"]):
        if row["period"] in closed.periods:
            latest[row["organization"]] = row
    facts = []
    for org, row in sorted(latest.items()):
        plan = f"{org}/{plan_year_of_term(closed.term)}"
        report = (link.format(organization=org, plan=plan, term=closed.term) if link
                  else f"spn report plan {plan} --quarter {closed.term}")  # fmt: skip
        facts.append(Fact("quarterly_report", org, closed.periods[-1], closed.term, {
            "term": label, "report": report, "plan": plan, "quarter": closed.term,
            "evidence": {"actions_completed_pct": row["completed_pct"],
                         "actions_on_time_pct": row["on_time_pct"],
                         "actions_behind_pct": row["behind_pct"]},
        }, occurred_at=closed.occurred_at))  # fmt: skip
    return facts


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

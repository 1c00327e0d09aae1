"""The plans service's read models, beside its event store: each organization and each plan
as a row, written in the transaction that stores the aggregate's events (the shared
read-model mechanism: PostgreSQL, or memory for unit tests), so a list query always sees
every command that was answered."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from services.plans.domain.assessment import SelfAssessment
from services.plans.domain.organization import Organization
from services.plans.domain.plan import ImprovementPlan
from services.shared.read_models import (
    MemoryReadModelRecorder,
    Query,
    ReadModelRecorder,
    Row,
)
from services.shared.scope import DirectoryTables

Record = dict[str, Any]
KIND_ORDER = {"SEA": 0, "LEA": 1, "SCHOOL": 2}


class PlansReadModels(DirectoryTables):
    """``organizations``, ``plans`` and ``assessments``, for the list queries."""

    TABLES = {
        "organizations": "code text PRIMARY KEY, org_id uuid UNIQUE NOT NULL, kind text NOT "
        "NULL, name text NOT NULL, parent text, liaison_name text, liaison_email text",
        "plans": "plan_id uuid PRIMARY KEY, key text NOT NULL, organization text NOT NULL, "
        "plan_year text NOT NULL, status text NOT NULL, version integer NOT NULL",
        "assessments": "assessment_id uuid PRIMARY KEY, key text NOT NULL, organization text "
        "NOT NULL, instrument text NOT NULL, on_date text NOT NULL, version integer NOT NULL, "
        "recorded_by text NOT NULL, document jsonb NOT NULL",
    }
    KEYS = {"organizations": ("code",), "plans": ("plan_id",),
            "assessments": ("assessment_id",)}  # fmt: skip
    INDEXES = {"assessments_organization": ("assessments", "(organization)")}

    def organizations(self, kind: str | None = None) -> list[Record]:
        """The tree's order: the SEA, then LEAs, then schools, each by parent and code."""
        rows = self._rows(Query("organizations", equal={"kind": kind} if kind else {}))
        for row in rows:
            del row["org_id"]
        return sorted(rows, key=lambda r: (KIND_ORDER.get(r["kind"], 3), r["parent"] is not None,
                                           r["parent"] or "", r["code"]))  # fmt: skip

    def plans(self, organizations: set[str] | None = None, plan_year: str | None = None
              ) -> list[Record]:  # fmt: skip
        """Plans of these organizations (None: every one's), of a year."""
        of = {"organization": sorted(organizations)} if organizations is not None else {}
        equal = {"plan_year": plan_year} if plan_year else {}
        return self._rows(Query("plans", equal=equal, any_of=of,
                                order_by=("organization", "plan_year")))  # fmt: skip

    def plan_owner(self, ref: str) -> str | None:
        """The organization of a plan named by its key or its id (None: no such plan)."""
        if "/" in ref:
            return super().plan_owner(ref)
        try:
            plan_id = UUID(ref)
        except ValueError:
            return None
        rows = self._rows(Query("plans", equal={"plan_id": plan_id}, columns=("organization",)))
        return rows[0]["organization"] if rows else None

    def assessments(self, organization: str, instrument: str | None = None,
                    up_to: date | None = None) -> list[Record]:  # fmt: skip
        """An organization's self-assessments (of one instrument; on or before a day), by
        instrument, oldest first."""
        equal = {"organization": organization} | ({"instrument": instrument} if instrument
                                                   else {})  # fmt: skip
        at_most = {"on_date": up_to.isoformat()} if up_to else {}
        return self._rows(Query("assessments", equal=equal, at_most=at_most,
                                order_by=("instrument", "on_date")))  # fmt: skip

    def has_assessments(self) -> bool:
        return bool(self._rows(Query("assessments", limit=1)))

    def incomplete(self) -> bool:
        """A table is empty (dropped, or older than the store's plans): rebuild them."""
        return not (self._rows(Query("organizations", limit=1))
                    and self._rows(Query("plans", limit=1)))  # fmt: skip


class PlansRecorder(PlansReadModels, ReadModelRecorder):
    """In PostgreSQL."""


class PlansMemoryRecorder(PlansReadModels, MemoryReadModelRecorder):
    """In memory, beside the POPO event store (unit tests)."""


def directory_rows(aggregates: Iterable[Any]) -> list[Row]:
    """The rows of the organizations and plans being saved, as they now stand."""
    rows: list[Row] = []
    for aggregate in aggregates:
        if isinstance(aggregate, Organization):
            liaison = aggregate.profile.get("liaison") or {}
            rows.append(("organizations", {
                "code": aggregate.code, "org_id": aggregate.id, "kind": aggregate.kind,
                "name": aggregate.name, "parent": aggregate.parent_code,
                "liaison_name": liaison.get("name"), "liaison_email": liaison.get("email"),
            }))  # fmt: skip
        elif isinstance(aggregate, ImprovementPlan):
            rows.append(("plans", {
                "plan_id": aggregate.id, "key": aggregate.key,
                "organization": aggregate.organization_code, "plan_year": aggregate.plan_year,
                "status": aggregate.status.value, "version": aggregate.version,
            }))  # fmt: skip
        elif isinstance(aggregate, SelfAssessment):
            rows.append(("assessments", {
                "assessment_id": aggregate.id, "key": aggregate.key,
                "organization": aggregate.organization_code, "instrument": aggregate.instrument,
                "on_date": aggregate.on, "version": aggregate.version,
                "recorded_by": aggregate.recorded_by, "document": aggregate.document,
            }))  # fmt: skip
    return rows

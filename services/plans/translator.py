"""The one place where the plans domain meets the contracts: domain events to integration
events, aggregates to query results, and contract payloads to command arguments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from contracts import assessment_rules as rules
from contracts import assessments as asm
from contracts import organizations as org_contracts
from contracts import plan_events as evt
from contracts.instruments import FILES, instrument
from contracts.plan_commands import HistoryEntry, PlanDetail, PlanHistory, PlanReturn, PlanSummary
from contracts.plans import ImprovementPlan as PlanDocument
from services.plans.application import PlansApplication
from services.plans.domain.assessment import SelfAssessment
from services.plans.domain.organization import Organization
from services.plans.domain.plan import ImprovementPlan
from services.shared.translation import envelope

IDENTITY_FIELDS = ("code", "kind", "name", "parent", "schema_version")
DETAIL_FIELDS = ("cause", "justification", "changes", "reason")


# -- contracts -> domain -----------------------------------------------------------------------


def organization_fields(organization: org_contracts.Organization) -> dict[str, Any]:
    """Keyword arguments of PlansApplication.register_organization."""
    data = organization.to_jsonable()
    profile = {k: v for k, v in data.items() if k not in IDENTITY_FIELDS}
    return {
        "code": organization.code,
        "kind": organization.kind.value,
        "name": organization.name,
        "parent": organization.parent,
        "profile": profile,
    }


def plan_document(plan: PlanDocument) -> dict[str, Any]:
    """The canonical JSON form the aggregate stores (same input, same dict)."""
    return plan.to_jsonable()


def assessment_document(assessment: asm.SelfAssessment) -> dict[str, Any]:
    """The canonical JSON form the aggregate stores; ratings in the instrument's order."""
    document = assessment.to_jsonable()
    if assessment.instrument not in FILES:  # as given: the rules name the instrument
        return document
    order = {e.code: i for i, e in enumerate(instrument(assessment.instrument).elements())}
    document["ratings"].sort(key=lambda r: order.get(r["element"], len(order)))
    return document


# -- domain -> contracts -----------------------------------------------------------------------


def assessment_views(rows: list[dict[str, Any]], latest: int | None = None
                     ) -> list[asm.AssessmentView]:  # fmt: skip
    """Read-model rows of one organization (by instrument, then date) as views, each with
    its change since the one before it of its instrument; only the ``latest`` this many
    of each instrument (None: all)."""
    views: list[asm.AssessmentView] = []
    previous: dict[str, Any] | None = None
    left = Counter(row["instrument"] for row in rows)  # of each instrument, from here on
    for row in rows:
        left[row["instrument"]] -= 1
        if latest is not None and left[row["instrument"]] >= latest:
            previous = row  # not listed, but what the next one changed from
            continue
        document = row["document"]
        same = previous is not None and previous["instrument"] == row["instrument"]
        earlier = previous if same else None
        areas = rules.area_levels(document)
        views.append(asm.AssessmentView(
            id=row["assessment_id"], key=row["key"], version=row["version"],
            recorded_by=row["recorded_by"],
            assessment=asm.SelfAssessment.model_validate(document),
            areas=[asm.AreaLevel(**a) for a in areas], weakest=rules.weakest(areas),
            bars=[asm.BarResult(**b) for b in rules.bars(document)],
            previous=earlier["key"] if earlier else None,
            changes=[asm.ElementChange(**c)
                     for c in rules.element_changes(earlier["document"], document)]
            if earlier else [],
        ))  # fmt: skip
        previous = row
    return sorted(views, key=lambda v: (v.assessment.on, v.assessment.instrument))


def assessment_digests(views: list[asm.AssessmentView]) -> list[asm.AssessmentDigest]:
    """The assessments (the latest of each instrument), with their weakest areas."""
    return [
        asm.AssessmentDigest(
            key=v.key, instrument=v.assessment.instrument,
            title=instrument(v.assessment.instrument).title, on=v.assessment.on,
            weakest=[a for a in v.areas if a.area in v.weakest],
        )
        for v in sorted(views, key=lambda v: v.assessment.instrument)
    ]  # fmt: skip



def organization_contract(org: Organization) -> org_contracts.Organization:
    return org_contracts.Organization.model_validate(
        {"code": org.code, "kind": org.kind, "name": org.name, "parent": org.parent_code}
        | org.profile
    )


def plan_summary(plan: ImprovementPlan) -> PlanSummary:
    return PlanSummary(
        id=plan.id,
        key=plan.key,
        organization=plan.organization_code,
        plan_year=plan.plan_year,
        status=plan.status.value,
        version=plan.version,
    )


def plan_detail(plan: ImprovementPlan) -> PlanDetail:
    return PlanDetail(
        summary=plan_summary(plan),
        approved_by=plan.approved_by,
        adjustments=plan.adjustment_count,
        returned=PlanReturn(**plan.returned) if plan.returned else None,
        plan=PlanDocument.model_validate(plan.document),
    )


def plan_history(plan: ImprovementPlan, events: list[DomainEventProtocol[UUID]]) -> PlanHistory:
    return PlanHistory(summary=plan_summary(plan), entries=[_history_entry(e) for e in events])


def _history_entry(event: Any) -> HistoryEntry:
    attrs = vars(event)
    return HistoryEntry(
        version=event.originator_version,
        event=type(event).__name__,
        at=event.timestamp.isoformat(),
        by=attrs.get("by"),
        organization=attrs.get("organization"),
        details={k: attrs[k] for k in DETAIL_FIELDS if k in attrs},
    )


class EventTranslator:
    """Maps each stored domain event of the plans application to its integration event."""

    def __init__(self, app: PlansApplication):
        self._app = app
        self._builders: dict[type, Callable[[Any], evt.IntegrationEvent]] = {
            Organization.Registered: self._organization(evt.OrganizationRegistered),  # type: ignore[attr-defined]
            Organization.ProfileUpdated: self._organization(evt.OrganizationUpdated),  # type: ignore[attr-defined]
            ImprovementPlan.Drafted: self._plan(evt.PlanDrafted, with_plan=True),  # type: ignore[attr-defined]
            ImprovementPlan.DraftRevised: self._plan(evt.PlanRevised, with_plan=True),  # type: ignore[attr-defined]
            ImprovementPlan.Submitted: self._plan(evt.PlanSubmitted),  # type: ignore[attr-defined]
            ImprovementPlan.Returned: self._plan(  # type: ignore[attr-defined]
                evt.PlanReturned, returned_by="organization", reason="reason"
            ),
            ImprovementPlan.Approved: self._plan(  # type: ignore[attr-defined]
                evt.PlanApproved, with_plan=True, approved_by="organization"
            ),
            ImprovementPlan.Adjusted: self._plan(  # type: ignore[attr-defined]
                evt.PlanAdjusted,
                with_plan=True,
                cause="cause",
                justification="justification",
                changes="changes",
            ),
            ImprovementPlan.Closed: self._plan(evt.PlanClosed, closed_by="organization"),  # type: ignore[attr-defined]
            SelfAssessment.Recorded: self._assessment,  # type: ignore[attr-defined]
            SelfAssessment.Revised: self._assessment,  # type: ignore[attr-defined]
        }

    def __call__(self, domain_event: DomainEventProtocol[UUID]) -> evt.IntegrationEvent | None:
        builder = self._builders.get(type(domain_event))
        return builder(domain_event) if builder else None

    def _at_version(self, domain_event: Any) -> Any:
        return self._app.repository.get(
            domain_event.originator_id, version=domain_event.originator_version
        )

    def _assessment(self, domain_event: Any) -> evt.IntegrationEvent:
        found: SelfAssessment = self._at_version(domain_event)
        return asm.AssessmentRecorded(
            **envelope(domain_event), assessment_id=found.id, key=found.key,
            by=domain_event.by, assessment=asm.SelfAssessment.model_validate(found.document),
        )  # fmt: skip

    def _organization(
        self, cls: type[evt.OrganizationRegistered | evt.OrganizationUpdated]
    ) -> Callable[[Any], evt.IntegrationEvent]:
        def build(domain_event: Any) -> evt.IntegrationEvent:
            org = self._at_version(domain_event)
            return cls(**envelope(domain_event), organization=organization_contract(org))

        return build

    def _plan(
        self, cls: type[evt.PlanEvent], *, with_plan: bool = False, **copied: str
    ) -> Callable[[Any], evt.IntegrationEvent]:
        def build(domain_event: Any) -> evt.IntegrationEvent:
            plan: ImprovementPlan = self._at_version(domain_event)
            fields = {name: getattr(domain_event, attr) for name, attr in copied.items()}
            if with_plan:
                fields["plan"] = PlanDocument.model_validate(plan.document)
            return cls(
                **envelope(domain_event),
                plan_id=plan.id,
                key=plan.key,
                organization=plan.organization_code,
                plan_year=plan.plan_year,
                by=domain_event.by,
                **fields,
            )

        return build

"""What each plans request does: call the application, map the result to its contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from contracts import assessments as asm
from contracts import plan_commands as cmd
from contracts import replay as rp
from contracts import timeline as tl
from contracts.periods import last_day, plan_year_periods
from services.plans import timeline as plan_timeline
from services.plans import translator
from services.plans.application import Outcome, PlansApplication
from services.plans.domain import ids
from services.plans.domain.assessment import check_assessment
from services.plans.domain.errors import PlanNotFoundError
from services.plans.domain.plan_changes import field_changes
from services.shared import timeline


@contextmanager
def naming(ref: str) -> Iterator[None]:
    """Report a missing plan by the reference the caller gave, not only its id."""
    try:
        yield
    except PlanNotFoundError:
        raise PlanNotFoundError(f"plan {ref} does not exist") from None


def resolve_plan(ref: str) -> UUID:
    """A plan key ``org/2026-27`` or a UUID, as the plan's id."""
    if "/" in ref:
        organization, plan_year = ref.split("/", 1)
        return ids.plan_id(organization, plan_year)
    try:
        return UUID(ref)
    except ValueError:
        raise PlanNotFoundError(f"{ref!r} is neither a plan key nor a plan id") from None


class PlansEndpoints:
    def __init__(
        self,
        app: PlansApplication,
        on_stored: Callable[[], None],
    ):
        self._app = app
        self._on_stored = on_stored

    # -- commands ------------------------------------------------------------------------

    def register_organization(self, request: cmd.RegisterOrganization) -> cmd.CommandResult:
        fields = translator.organization_fields(request.organization)
        return self._result(self._app.register_organization(**fields))

    def import_plan(self, request: cmd.ImportPlan) -> cmd.CommandResult:
        adjustment: dict[str, Any] = request.adjustment.model_dump() if request.adjustment else {}
        document = translator.plan_document(request.plan)
        return self._result(self._app.import_plan(document, by=request.by, **adjustment))

    def submit_plan(self, request: cmd.SubmitPlan) -> cmd.CommandResult:
        with naming(request.plan):
            outcome = self._app.submit_plan(resolve_plan(request.plan), **_acting(request))
        return self._result(outcome)

    def approve_plan(self, request: cmd.ApprovePlan) -> cmd.CommandResult:
        with naming(request.plan):
            outcome = self._app.approve_plan(resolve_plan(request.plan), **_acting(request))
        return self._result(outcome)

    def return_plan(self, request: cmd.ReturnPlan) -> cmd.CommandResult:
        with naming(request.plan):
            outcome = self._app.return_plan(
                resolve_plan(request.plan), reason=request.reason, **_acting(request)
            )
        return self._result(outcome)

    def close_plan(self, request: cmd.ClosePlan) -> cmd.CommandResult:
        with naming(request.plan):
            outcome = self._app.close_plan(resolve_plan(request.plan), **_acting(request))
        return self._result(outcome)

    def record_assessment(self, request: asm.RecordAssessment) -> cmd.CommandResult:
        check_assessment(request.assessment.to_jsonable())  # problems named as sent
        document = translator.assessment_document(request.assessment)
        return self._result(self._app.record_assessment(document, by=request.by))

    # -- queries -------------------------------------------------------------------------

    def get_plan(self, request: cmd.GetPlan) -> cmd.PlanDetail:
        with naming(request.plan):
            plan = self._app.get_plan(resolve_plan(request.plan))
        year_end = last_day(plan_year_periods(plan.plan_year)[-1])  # the latest of its year
        rows = self._app.view.assessments(plan.organization_code, up_to=year_end)
        views = translator.assessment_views(rows, latest=1)
        detail = translator.plan_detail(plan)
        return detail.model_copy(update={
            "self_assessments": translator.assessment_digests(views)})  # fmt: skip

    def list_assessments(self, request: asm.ListAssessments) -> asm.AssessmentList:
        organization = request.organization
        self._app.get_organization(organization)
        rows = self._app.view.assessments(organization, request.instrument, request.up_to)
        views = translator.assessment_views(rows, request.latest)
        return asm.AssessmentList(organization=organization, assessments=views)

    def get_plan_history(self, request: cmd.GetPlanHistory) -> cmd.PlanHistory:
        plan_id = resolve_plan(request.plan)
        with naming(request.plan):
            plan = self._app.get_plan(plan_id)
        return translator.plan_history(plan, list(self._app.plan_history(plan_id)))

    def get_timeline(self, request: tl.GetPlanDocumentTimeline) -> tl.PlanTimeline:
        plan_id = resolve_plan(request.plan)
        with naming(request.plan):
            self._app.get_plan(plan_id)
        found = timeline.entries(self._app.plan_history(plan_id), plan_timeline.DESCRIBED)
        return tl.PlanTimeline(plan=request.plan, service="plans", entries=found)

    def replay(self, request: rp.ReplayPlanDocument) -> rp.PlanAsOf:
        plan_id = resolve_plan(request.plan)
        with naming(request.plan):
            plan, recorded = self._app.plan_as_of(plan_id, request.as_of, request.version)
        detail = translator.plan_detail(plan)
        return rp.PlanAsOf(summary=detail.summary, recorded_at=recorded,
                           approved_by=detail.approved_by, adjustments=detail.adjustments,
                           returned=detail.returned, plan=detail.plan)  # fmt: skip

    def diff(self, request: rp.DiffPlanDocument) -> rp.PlanDiff:
        plan_id = resolve_plan(request.plan)
        with naming(request.plan):
            before, _ = self._app.plan_as_of(plan_id, request.from_time, request.from_version)
            if request.to_version is None and request.to_time is None:
                after = self._app.get_plan(plan_id)
            else:
                after, _ = self._app.plan_as_of(plan_id, request.to_time, request.to_version)
        changes = field_changes(before.document, after.document)
        return rp.PlanDiff(plan=request.plan, from_version=before.version,
                           to_version=after.version,
                           changes=[rp.FieldChange(**c) for c in changes])  # fmt: skip

    def list_organizations(self, request: cmd.ListOrganizations) -> cmd.OrganizationList:
        family = self._family(request.organization)
        plans_by_org: dict[str, list[cmd.PlanSummary]] = {}
        for row in self._app.view.plans(family):
            plans_by_org.setdefault(row["organization"], []).append(_summary(row))
        kind = request.kind.value if request.kind else None
        return cmd.OrganizationList(
            organizations=[
                cmd.OrganizationEntry(**row, plans=plans_by_org.get(row["code"], []))
                for row in self._app.view.organizations(kind)
                if family is None or row["code"] in family
            ]
        )

    def list_plans(self, request: cmd.ListPlans) -> cmd.PlanList:
        rows = self._app.view.plans(self._family(request.organization), request.plan_year)
        return cmd.PlanList(plans=[_summary(row) for row in rows])

    def _family(self, organization: str | None) -> set[str] | None:
        """The organization and every one beneath it (None: every one)."""
        return self._app.view.family(organization) if organization else None

    def _result(self, outcome: Outcome) -> cmd.CommandResult:
        if outcome.changed:
            self._on_stored()
        return cmd.CommandResult(
            id=outcome.id, key=outcome.key, result=outcome.result, changed=outcome.changed
        )


def _acting(request: cmd.PlanCommand) -> dict[str, str]:
    return {"organization": request.organization, "by": request.by}


def _summary(row: dict[str, Any]) -> cmd.PlanSummary:
    return cmd.PlanSummary(
        id=row["plan_id"],
        key=row["key"],
        organization=row["organization"],
        plan_year=row["plan_year"],
        status=row["status"],
        version=row["version"],
    )

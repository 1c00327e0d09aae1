"""NATS request/reply entry points of the plans service: parse, call, answer."""

from __future__ import annotations

from faststream.nats import NatsRouter

from contracts import assessments as asm
from contracts import plan_commands as cmd
from contracts import replay as rp
from contracts import timeline as tl
from services.plans.endpoints import PlansEndpoints
from services.shared import routes
from services.shared.metrics import ServiceMetrics
from services.shared.scope import DirectoryTables


def create_router(
    metrics: ServiceMetrics, namespace: str, endpoints: PlansEndpoints,
    directory: DirectoryTables | None = None,
) -> NatsRouter:
    return routes.create_router(metrics, namespace, [
        (cmd.RegisterOrganization, endpoints.register_organization),
        (cmd.ImportPlan, endpoints.import_plan),
        (cmd.SubmitPlan, endpoints.submit_plan),
        (cmd.ApprovePlan, endpoints.approve_plan),
        (cmd.ReturnPlan, endpoints.return_plan),
        (cmd.ClosePlan, endpoints.close_plan),
        (cmd.GetPlan, endpoints.get_plan),
        (tl.GetPlanDocumentTimeline, endpoints.get_timeline),
        (rp.ReplayPlanDocument, endpoints.replay),
        (rp.DiffPlanDocument, endpoints.diff),
        (cmd.GetPlanHistory, endpoints.get_plan_history),
        (cmd.ListOrganizations, endpoints.list_organizations),
        (cmd.ListPlans, endpoints.list_plans),
        (asm.RecordAssessment, endpoints.record_assessment),
        (asm.ListAssessments, endpoints.list_assessments),
    ], directory)  # fmt: skip

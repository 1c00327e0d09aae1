"""NATS request/reply entry points of the status service (the close takes the write lock
itself, step by step)."""

from __future__ import annotations

from faststream.nats import NatsRouter

from contracts import replay as rp
from contracts import status as st
from contracts import timeline as tl
from services.shared import routes
from services.shared.metrics import ServiceMetrics
from services.shared.scope import DirectoryTables
from services.status.endpoints import StatusEndpoints


def create_router(
    metrics: ServiceMetrics, namespace: str, endpoints: StatusEndpoints,
    directory: DirectoryTables | None = None,
) -> NatsRouter:
    return routes.create_router(metrics, namespace, [
        (st.ClosePeriod, endpoints.close_period),
        (st.GetReportOutcomes, endpoints.get_report_outcomes),
        (st.GetPlanProgress, endpoints.get_plan_progress),
        (tl.GetPlanStatusTimeline, endpoints.get_timeline),
        (rp.ReplayPlanStatus, endpoints.replay),
    ], directory)  # fmt: skip

"""NATS request/reply entry points of the rollup service."""

from __future__ import annotations

from faststream.nats import NatsRouter

from contracts import rollup as ru
from services.rollup.endpoints import RollupEndpoints
from services.shared import routes


def create_router(namespace: str, endpoints: RollupEndpoints) -> NatsRouter:
    return routes.create_router("rollup", namespace, [
        (ru.GetRollup, endpoints.get_rollup),
        (ru.PerformanceMeasureReported, endpoints.report_measure),
        (ru.ListFlags, endpoints.list_flags),
        (ru.ListSupportCases, endpoints.list_support_cases),
        (ru.ProvideSupport, endpoints.provide_support),
    ])  # fmt: skip

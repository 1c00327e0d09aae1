"""NATS request/reply entry points of the rollup service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream.nats import NatsMessage, NatsRouter

from contracts.plan_commands import Command
from contracts.replies import ErrorInfo
from contracts.rollup import (
    GetRollup,
    ListSupportCases,
    MeasureRecorded,
    PerformanceMeasureReported,
    ProvideSupport,
    RollupReport,
    SupportCaseList,
    SupportCaseView,
)
from contracts.subjects import subject
from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.domain.errors import RollupError
from services.rollup.read import case_row
from services.shared.replies import answer


def describe_error(error: Exception) -> ErrorInfo:
    assert isinstance(error, RollupError)
    return ErrorInfo(code=error.code, message=str(error))


def create_router(
    namespace: str, app: RollupApplication, on_stored: Callable[[], None]
) -> NatsRouter:
    router = NatsRouter()

    def get_rollup(request: GetRollup) -> RollupReport:
        return translator.report(app.rollup(request.organization, request.period))

    def list_support_cases(request: ListSupportCases) -> SupportCaseList:
        rows = app.support_cases(request.organization, request.status)
        return SupportCaseList(cases=[SupportCaseView.model_validate(r) for r in rows])

    def provide_support(request: ProvideSupport) -> SupportCaseView:
        case = app.provide_support(
            request.case_id, provider=request.provider, on=request.on, what=request.what,
            by=request.by, practice=request.practice.value if request.practice else None,
        )  # fmt: skip
        on_stored()
        return SupportCaseView.model_validate(case_row(case))

    def report_measure(request: PerformanceMeasureReported) -> MeasureRecorded:
        period = request.period or f"year:{request.year}"
        app.report_measure(request.plan, request.measure, period, request.value, request.by)
        return MeasureRecorded(
            plan=request.plan, measure=request.measure, period=period, value=request.value
        )

    for contract, call in (
        (GetRollup, get_rollup),
        (PerformanceMeasureReported, report_measure),
        (ListSupportCases, list_support_cases),
        (ProvideSupport, provide_support),
    ):
        _route(router, namespace, contract, call)
    return router


def _route(
    router: NatsRouter, namespace: str, contract: type[Command], call: Callable[[Any], Any]
) -> None:
    async def handle(message: NatsMessage) -> bytes:
        return await answer("rollup", contract, message.body, call, (RollupError,), describe_error)

    handle.__name__ = contract.SCHEMA_NAME.replace("-", "_")
    router.subscriber(
        subject(namespace, contract.SUBJECT), queue="rollup", title=contract.SCHEMA_NAME
    )(handle)

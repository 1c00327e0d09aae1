"""NATS request/reply entry points of the status service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faststream.nats import NatsMessage, NatsRouter

from contracts import status as st
from contracts.plan_commands import Command
from contracts.replies import ErrorInfo
from contracts.subjects import subject
from services.shared.replies import answer
from services.status.domain.errors import StatusError
from services.status.endpoints import StatusEndpoints

ROUTES: list[tuple[type[Command], str, bool]] = [
    (st.ClosePeriod, "close_period", False),  # takes the write lock itself, step by step
    (st.GetReportOutcomes, "get_report_outcomes", False),
    (st.GetPlanProgress, "get_plan_progress", False),
]


def describe_error(error: Exception) -> ErrorInfo:
    assert isinstance(error, StatusError)
    return ErrorInfo(code=error.code, message=str(error))


def create_router(
    namespace: str, endpoints: StatusEndpoints, write_lock: asyncio.Lock
) -> NatsRouter:
    router = NatsRouter()
    for contract, method, writes in ROUTES:
        _route(
            router, namespace, contract, getattr(endpoints, method), write_lock if writes else None
        )
    return router


def _route(
    router: NatsRouter,
    namespace: str,
    contract: type[Command],
    call: Callable[[Any], Any],
    lock: asyncio.Lock | None,
) -> None:
    async def handle(message: NatsMessage) -> bytes:
        if lock is None:
            return await answer(
                "status", contract, message.body, call, (StatusError,), describe_error
            )
        async with lock:
            return await answer(
                "status", contract, message.body, call, (StatusError,), describe_error
            )

    handle.__name__ = contract.SCHEMA_NAME.replace("-", "_")
    router.subscriber(
        subject(namespace, contract.SUBJECT), queue="status", title=contract.SCHEMA_NAME
    )(handle)

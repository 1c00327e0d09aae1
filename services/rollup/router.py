"""NATS request/reply entry points of the rollup service."""

from __future__ import annotations

from faststream.nats import NatsMessage, NatsRouter

from contracts.replies import ErrorInfo
from contracts.rollup import GetRollup, RollupReport
from contracts.subjects import subject
from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.domain.errors import RollupError
from services.shared.replies import answer


def describe_error(error: Exception) -> ErrorInfo:
    assert isinstance(error, RollupError)
    return ErrorInfo(code=error.code, message=str(error))


def create_router(namespace: str, app: RollupApplication) -> NatsRouter:
    router = NatsRouter()

    def get_rollup(request: GetRollup) -> RollupReport:
        return translator.report(app.rollup(request.organization, request.period))

    @router.subscriber(subject(namespace, GetRollup.SUBJECT), queue="rollup", title="get-rollup")
    async def handle(message: NatsMessage) -> bytes:
        return await answer(
            "rollup", GetRollup, message.body, get_rollup, (RollupError,), describe_error
        )

    return router

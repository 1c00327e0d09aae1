"""The one route helper of every service: a request/reply subject per command contract,
answered in the service's queue group (parse, call, reply; see ``replies.answer``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from faststream.nats import NatsMessage, NatsRouter

from contracts.base import Command
from contracts.subjects import subject
from services.shared.metrics import ServiceMetrics
from services.shared.replies import answer

Route = tuple[type[Command], Callable[[Any], Any]]
"""A command or query contract, and the call that answers it (a coroutine function, or a
plain one run in a worker thread)."""


def create_router(metrics: ServiceMetrics, namespace: str, routes: Iterable[Route]) -> NatsRouter:
    """A router answering each contract's subject under ``namespace``, in the queue group
    of the metrics' service."""
    router = NatsRouter()
    for contract, call in routes:
        _route(router, metrics, namespace, contract, call)
    return router


def raw_body(message: NatsMessage) -> bytes:
    """The body as it came: the contract reads it (faststream's own decoding, json.loads on
    a body without a content type, fails on deeply nested JSON and no reply is sent)."""
    return bytes(message.body)


def _route(
    router: NatsRouter,
    metrics: ServiceMetrics,
    namespace: str,
    contract: type[Command],
    call: Callable[[Any], Any],
) -> None:
    parameters = getattr(contract, "SUBJECT_PARAMETERS", ())
    acts = parameters == ("organization",)

    async def handle(message: NatsMessage) -> bytes:
        acting = message.raw_message.subject.rsplit(".", 1)[-1] if acts else None
        return await answer(metrics, contract, message.body, call, acting)

    handle.__name__ = contract.SCHEMA_NAME.replace("-", "_")
    relative = contract.SUBJECT
    if parameters == ("service",):
        relative += f".{metrics.service}"  # a question every service answers for itself
    elif acts:
        relative += ".*"  # <SUBJECT>.<organization>: whom NATS let publish there
    router.subscriber(
        subject(namespace, relative),
        queue=metrics.service,
        decoder=raw_body,
        title=contract.SCHEMA_NAME,
        description=(contract.__doc__ or "").strip() or None,
    )(handle)

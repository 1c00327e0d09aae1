"""The one route helper of every service: a request/reply subject per command contract,
answered in the service's queue group (parse, call, reply; see ``replies.answer``). A
query an organization may ask is answered on a second subject too, ``<SUBJECT>.<org>``,
in that organization's scope (see ``scope``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from faststream.nats import NatsMessage, NatsRouter

from contracts.base import Command
from contracts.subjects import subject
from services.shared.metrics import ServiceMetrics
from services.shared.replies import answer
from services.shared.scope import DirectoryTables, Scope, acted, scoped

Route = tuple[type[Command], Callable[..., Any]]
"""A command or query contract, and the call that answers it (a coroutine function, or a
plain one run in a worker thread): given the request, and the ``Scope`` too if the
contract's SCOPE is ``answer``."""


def create_router(metrics: ServiceMetrics, namespace: str, routes: Iterable[Route],
                  directory: DirectoryTables | None = None) -> NatsRouter:  # fmt: skip
    """A router answering each contract's subject under ``namespace``, in the queue group
    of the metrics' service; the queries an organization may ask, in its scope as the
    service's ``directory`` has it (none: the operator's queries only)."""
    router = NatsRouter()
    for contract, call in routes:
        _route(router, metrics, namespace, contract, call, directory)
    return router


def raw_body(message: NatsMessage) -> bytes:
    """The body as it came: the contract reads it (faststream's own decoding, json.loads on
    a body without a content type, fails on deeply nested JSON and no reply is sent)."""
    return bytes(message.body)


Answering = Callable[[str], tuple[Callable[[Any], Any], str | None]]
"""From a request's subject's last token: the call that answers it, and the organization
acting (None: not an organization's act)."""


def _route(
    router: NatsRouter,
    metrics: ServiceMetrics,
    namespace: str,
    contract: type[Command],
    call: Callable[..., Any],
    directory: DirectoryTables | None,
) -> None:
    parameters = getattr(contract, "SUBJECT_PARAMETERS", ())
    relative = contract.SUBJECT
    if parameters == ("service",):
        relative += f".{metrics.service}"  # a question every service answers for itself
    if contract.SCOPE is not None:  # the operator's, then an organization's (whom NATS let)
        operator = scoped(contract, call, Scope(None))
        _subscribe(router, metrics, namespace, contract, relative, lambda _: (operator, None))
        if directory is not None:
            _subscribe(router, metrics, namespace, contract, f"{relative}.*", lambda asker: (
                scoped(contract, call, Scope(asker, directory)), None), " (an organization's)")
    elif parameters == ("organization",):  # <SUBJECT>.<organization>: whom NATS let publish
        _subscribe(router, metrics, namespace, contract, f"{relative}.*", lambda acting: (
            acted(call, Scope(acting, directory)) if directory else call, acting))
    else:
        _subscribe(router, metrics, namespace, contract, relative, lambda _: (call, None))


def _subscribe(
    router: NatsRouter,
    metrics: ServiceMetrics,
    namespace: str,
    contract: type[Command],
    relative: str,
    answering: Answering,
    asked_by: str = "",
) -> None:
    async def handle(message: NatsMessage) -> bytes:
        call, acting = answering(message.raw_message.subject.rsplit(".", 1)[-1])
        return await answer(metrics, contract, message.body, call, acting)

    handle.__name__ = contract.SCHEMA_NAME.replace("-", "_") + ("_asked" if asked_by else "")
    router.subscriber(
        subject(namespace, relative),
        queue=metrics.service,
        decoder=raw_body,
        title=contract.SCHEMA_NAME + asked_by,
        description=(contract.__doc__ or "").strip() or None,
    )(handle)

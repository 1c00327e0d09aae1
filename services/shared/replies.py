"""Turning a request into a Reply: validate, call, and answer with a result or an error."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError

from contracts.base import Command, Versioned
from contracts.paths import field_path
from contracts.replies import ErrorInfo, FieldError, Reply
from services.shared.errors import DomainError
from services.shared.metrics import ServiceMetrics

log = logging.getLogger(__name__)

C = TypeVar("C", bound=Command)


def first_problem(error: ValidationError) -> str:
    """``field.path: message`` of the first thing wrong (for dead letters and logs)."""
    first = error.errors()[0]
    found = f"{field_path(first['loc']) or '(message)'}: {first['msg']}"
    return found.replace("\x00", "\\u0000")  # a field named with a NUL: stored as text


def validation_error(error: ValidationError) -> ErrorInfo:
    details = [
        FieldError(field=field_path(e["loc"]) or "(message)", message=e["msg"])
        for e in error.errors()
    ]
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return ErrorInfo(
        code="validation_error",
        message=f"{first.field}: {first.message}{more}",
        field=first.field,
        details=details,
    )


def refusal(error: DomainError) -> ErrorInfo:
    """A domain error as the reply's error: its code, message and offending fields."""
    details = [FieldError(field=field, message=message) for field, message in error.problems()]
    return ErrorInfo(
        code=error.code,
        message=str(error),
        field=details[0].field if details else None,
        details=details,
    )


class ActingElsewhereError(DomainError):
    """A command about one organization, sent on another's subject."""

    code = "not_authorized"


HEADROOM = 48_576  # bytes kept for the reply's subject and headers
MAX_REPLY_BYTES = 2**20 - HEADROOM
"""The largest reply body sent: within NATS's max payload, the server's once connected
(``limit_replies``; before that, the default 1 MiB)."""


def limit_replies(max_payload: int) -> None:
    """Replies of this process fit the max payload of the server it is connected to."""
    global MAX_REPLY_BYTES
    MAX_REPLY_BYTES = max(max_payload - HEADROOM, 1024)


async def answer(
    metrics: ServiceMetrics,
    contract: type[C],
    raw: bytes,
    call: Callable[[C], Versioned] | Callable[[C], Awaitable[Versioned]],
    acting: str | None = None,
) -> bytes:
    """Validate ``raw`` against ``contract``, run ``call`` (a coroutine function, or a plain
    one in a worker thread), reply: a domain error is a refusal, anything else a bug.
    ``acting``: the organization of the subject it came on, which must be the one the
    command names. Counted and timed by subject."""
    started = time.perf_counter()
    try:
        outcome, reply = await _answer(metrics.service, contract, raw, call, acting)
        body = reply.to_json()
    except Exception:  # even the refusal could not be written: still an answer, never none
        log.exception("%s: the reply to %s failed", metrics.service, contract.SCHEMA_NAME)
        outcome, body = "error", Reply(ok=False, error=ErrorInfo(
            code="internal_error",
            message=f"{metrics.service} failed to answer {contract.SCHEMA_NAME}")).to_json()
    if len(body) > MAX_REPLY_BYTES:  # NATS would refuse to carry it: the asker would wait
        outcome, body = "refused", Reply(ok=False, error=ErrorInfo(
            code="reply_too_large", message=f"the answer to {contract.SCHEMA_NAME} is "
            f"{len(body):,} bytes, more than the {MAX_REPLY_BYTES:,} a reply may be (the NATS "
            "server's max payload): ask for less (one term or period, one organization)"
        )).to_json()
    metrics.requests.labels(metrics.service, contract.SUBJECT, outcome).inc()
    metrics.request_seconds.labels(metrics.service, contract.SUBJECT).observe(
        time.perf_counter() - started)
    return body


async def _answer(
    service: str,
    contract: type[C],
    raw: bytes,
    call: Callable[[C], Versioned] | Callable[[C], Awaitable[Versioned]],
    acting: str | None = None,
) -> tuple[str, Reply]:
    name = contract.SCHEMA_NAME
    try:
        request = contract.model_validate_json(raw)
    except ValidationError as error:
        return "invalid", Reply(ok=False, error=validation_error(error))
    try:
        if acting is not None and request.acting() != acting:
            raise ActingElsewhereError(
                f"{name} by {request.acting()} was sent on the subject of {acting}")
        if inspect.iscoroutinefunction(call):
            result = await call(request)
        else:
            result = await asyncio.to_thread(call, request)
        assert isinstance(result, Versioned)
        reply = Reply(ok=True, result=result.to_jsonable())
    except DomainError as error:
        return "refused", Reply(ok=False, error=refusal(error))
    except Exception:  # a bug: logged with its traceback, and the caller still gets an answer
        log.exception("%s: %s failed", service, name)
        info = ErrorInfo(code="internal_error", message=f"{service} failed to process {name}")
        return "error", Reply(ok=False, error=info)
    return "ok", reply

"""A service asking another a question (request/reply on its contract's subject), with a
timeout: the alerts service asks for what a quarterly report is made of. Its NATS user may
publish only the subjects it asks (see ``spn.stack.credentials``)."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from contracts.base import Command
from contracts.replies import Reply
from contracts.subjects import subject


class UnansweredError(RuntimeError):
    """No answer (the service asked is down or slow): worth asking again later."""


class RefusedAnswerError(RuntimeError):
    """The service answered with an error: asking again gives the same."""


class NatsAsker:
    def __init__(self, nc: Client, namespace: str, timeout: float = 30.0):
        self.nc, self.namespace, self.timeout = nc, namespace, timeout

    async def request(self, command: Command) -> dict[str, Any]:
        target = subject(self.namespace, command.SUBJECT)
        try:
            message = await self.nc.request(target, command.to_json(), timeout=self.timeout)
        except (NoRespondersError, NatsTimeoutError) as error:
            raise UnansweredError(f"no answer on {target}: {type(error).__name__}") from None
        reply = Reply.model_validate_json(message.data)
        if not reply.ok or reply.error is not None:
            info = reply.error
            raise RefusedAnswerError(f"{target}: {info.code}: {info.message}" if info
                                     else f"{target}: refused")  # fmt: skip
        assert isinstance(reply.result, dict)
        return reply.result

"""Request/reply client of the services, as the CLI (or any script) uses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import AuthorizationError, NoRespondersError
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from contracts.base import Command
from contracts.replies import Reply
from contracts.subjects import subject
from services.shared.credentials import CredentialError, connect_options
from services.shared.secrets import redact
from spn.cli.errors import (
    CliError,
    InvalidInputError,
    NotAllowedError,
    RefusedError,
    StackUnreachableError,
)
from spn.stack.credentials import organization_of

PERMISSIONS = "permissions violation"


async def _quiet(error: Exception) -> None:
    """Connection errors surface as the CLI's own errors; not logged twice."""


async def connect(nats_url: str, options: dict[str, Any],
                  on_error: Callable[[Exception], Awaitable[None]] = _quiet) -> Client:  # fmt: skip
    """A connection to NATS for one command, or the CLI's error: unreachable (exit 3),
    or the credential refused (exit 4)."""
    try:
        return await nats.connect(
            nats_url,
            connect_timeout=2,
            allow_reconnect=False,
            max_reconnect_attempts=1,  # with 0, nats-py retries an absent server forever
            reconnect_time_wait=0.1,
            error_cb=on_error,
            **options,
        )
    except (TimeoutError, OSError, NatsError) as error:
        if not isinstance(error, AuthorizationError) and (
                "authorization violation" not in str(error).lower()):
            raise StackUnreachableError(
                f"cannot reach NATS at {redact(nats_url)} ({type(error).__name__}): "
                "is `spn up` running? (set SPN_NATS_URL for another server)") from None
        raise NotAllowedError(
            f"NATS at {redact(nats_url)} refused the connection: no credential, or not "
            "this one (SPN_NATS_CREDENTIALS names an organization's; the operator's is "
            "<data dir>/credentials/spn-admin.json)") from None  # fmt: skip


class SpnClient:
    def __init__(self, nats_url: str, namespace: str, timeout: float = 30.0,
                 credentials: Path | None = None):  # fmt: skip
        self.nats_url = nats_url
        self.namespace = namespace
        self.timeout = timeout
        self.credentials = credentials
        self._nc: Client | None = None
        self._refused: str | None = None  # the server's last permissions violation
        self.asker: str | None = None  # the organization whose credential this is

    async def __aenter__(self) -> SpnClient:
        try:
            options = connect_options(self.credentials)
        except CredentialError as error:
            raise InvalidInputError(str(error)) from None
        self.asker = organization_of(str(options.get("user", "")))
        self._nc = await connect(self.nats_url, options, self._on_error)
        return self

    async def _on_error(self, error: Exception) -> None:
        """Connection errors surface as StackUnreachableError (not logged twice); a
        permissions violation is kept, to name it when its request gets no answer."""
        if PERMISSIONS in str(error).lower():
            self._refused = str(error).strip().strip("'")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._nc:
            await self._nc.close()

    async def inbox(self, on_message: Callable[[bytes], None]) -> tuple[str, Subscription]:
        """A fresh inbox subject and its subscription, each message's body to
        ``on_message`` (progress a service publishes while it answers)."""
        assert self._nc, "use SpnClient as an async context manager"
        inbox = self._nc.new_inbox()

        async def deliver(message: Msg) -> None:
            on_message(message.data)

        return inbox, await self._nc.subscribe(inbox, cb=deliver)

    @property
    def max_payload(self) -> int:
        """The largest message the NATS server takes (bytes)."""
        assert self._nc, "use SpnClient as an async context manager"
        return int(self._nc.max_payload)

    def check_size(self, command: Command) -> None:
        """InvalidInputError if the request is larger than the server takes."""
        size = len(command.to_json())
        if size > self.max_payload:
            raise InvalidInputError(
                f"{command.SCHEMA_NAME} of {size / 2**20:.1f} MB is larger than the "
                f"{self.max_payload / 2**20:.1f} MB a NATS message may be")  # fmt: skip

    async def request(self, command: Command, *parameters: str,
                      timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
        """Send a command or query (its SUBJECT_PARAMETERS given, e.g. the service asked);
        return its result, or raise RefusedError. With an organization's credential, a
        query is asked as that organization (on ``<subject>.<organization>``)."""
        assert self._nc, "use SpnClient as an async context manager"
        self.check_size(command)
        if not parameters and getattr(command, "SUBJECT_PARAMETERS", ()) == ("organization",):
            parameters = (str(command.acting()),)  # the organization acting, as itself
        if command.SCOPE and self.asker:
            parameters = (*parameters, self.asker)  # answered in its scope
        target = subject(self.namespace, ".".join([command.SUBJECT, *parameters]))
        try:
            message = await self._nc.request(target, command.to_json(),
                                             timeout=timeout or self.timeout)  # fmt: skip
        except NoRespondersError:
            service = target.split(".")[2] if target.count(".") >= 2 else "its"
            if service == "audit":
                service = parameters[0] if parameters else service
            raise StackUnreachableError(
                f"no service answers {target}: is the {service} service running (`spn up`)?"
            ) from None
        except NatsTimeoutError:
            if self._refused is not None:
                raise NotAllowedError(f"NATS refused it: {self._refused} (the credential "
                                      "may not do this)") from None  # fmt: skip
            raise StackUnreachableError(
                f"no answer on {target} within {timeout or self.timeout}s") from None
        try:
            reply = Reply.model_validate_json(message.data)
        except ValidationError as error:
            raise CliError(f"unexpected reply on {target}: {error.errors()[0]['msg']}") from None
        if not reply.ok:
            assert reply.error
            details = [d.model_dump() for d in reply.error.details]
            raise RefusedError(reply.error.code, reply.error.message, details)
        return reply.result or {}

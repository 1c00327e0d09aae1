"""Errors the CLI reports as one line and an exit code, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    exit_code = 1


class InvalidInputError(CliError):
    """A file or argument is wrong; nothing was sent."""

    exit_code = 2


class NotFoundError(CliError):
    """What was asked for does not exist (yet): exit 1, with what does exist."""


class StackUnreachableError(CliError):
    exit_code = 3


class RefusedError(CliError):
    """The service answered with an error."""

    def __init__(self, code: str, message: str, details: list[dict] | None = None):
        self.code = code
        self.details = details or []
        super().__init__(f"refused ({code}): {message}")


class NotAllowedError(CliError):
    """NATS refused the connection or the subject: the credential may not do this."""

    exit_code = 4

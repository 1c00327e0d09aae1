"""The reply envelope of every request/reply command and query."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from contracts.base import Part, Versioned


class FieldError(Part):
    field: str = Field(description="Dotted path of the offending field, e.g. plan.plan_year")
    message: str


class ErrorInfo(Part):
    code: str = Field(
        description="Machine-readable: validation_error, plan_rules, not_authorized, "
        "invalid_status, plan_not_found, organization_not_found, organization_conflict, "
        "adjustment_required, internal_error"
    )
    message: str
    field: str | None = Field(default=None, description="The first offending field, if any")
    details: list[FieldError] = Field(default_factory=list)


class Reply(Versioned):
    """``ok`` with a ``result``, or not ``ok`` with an ``error``."""

    SCHEMA_NAME = "reply"
    ok: bool
    result: dict[str, Any] | None = None
    error: ErrorInfo | None = None

"""Errors of the rollup domain."""

from services.shared.errors import DomainError


class RollupError(DomainError):
    code = "rollup_error"


class UnknownOrganizationError(RollupError):
    code = "organization_not_found"


class UnknownMeasureError(RollupError):
    code = "unknown_measure"

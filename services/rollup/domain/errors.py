"""Errors of the rollup domain."""


class RollupError(Exception):
    code = "rollup_error"


class UnknownOrganizationError(RollupError):
    code = "organization_not_found"


class UnknownMeasureError(RollupError):
    code = "unknown_measure"

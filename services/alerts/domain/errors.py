"""Errors of the alerts domain."""

from services.shared.errors import DomainError


class AlertsError(DomainError):
    code = "alerts_error"


class UnknownAlertError(AlertsError):
    code = "alert_not_found"

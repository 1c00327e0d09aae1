"""The one base of every service's domain errors: a refusal the caller can act on."""

from __future__ import annotations


class DomainError(Exception):
    """``code`` is machine-readable (the reply's error code, or a dead letter's reason);
    ``problems`` names each offending field, where there are several."""

    code = "domain_error"

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) of each thing wrong; none by default."""
        return []

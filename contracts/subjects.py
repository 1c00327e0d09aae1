"""Subject and stream names. Every name sits under a namespace (default ``spn``), so several
networks (or test runs) can share one NATS server without seeing each other."""

from __future__ import annotations

DEFAULT_NAMESPACE = "spn"


def subject(namespace: str, relative: str) -> str:
    """``subject("spn", "cmd.plans.import_plan") == "spn.cmd.plans.import_plan"``."""
    return f"{namespace}.{relative}"


def events_stream(namespace: str) -> str:
    """JetStream stream holding every integration event: ``SPN_EVENTS`` for ``spn``."""
    return f"{namespace.upper().replace('-', '_')}_EVENTS"


def events_wildcard(namespace: str, service: str | None = None) -> str:
    return f"{namespace}.evt.{service}.>" if service else f"{namespace}.evt.>"

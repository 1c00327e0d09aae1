"""The HTTP side of every service: /health and /metrics (Prometheus text format)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.asgi import AsgiResponse, get
from prometheus_client import CollectorRegistry, make_asgi_app

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def health_route(check: HealthCheck) -> tuple[str, Any]:
    """200 with the checks when every one is ``ok``, else 503."""

    @get(include_in_schema=False)
    async def health(scope: Any) -> AsgiResponse:
        checks = await check()
        healthy = all(value == "ok" for value in checks.values())
        body = json.dumps({"status": "ok" if healthy else "unhealthy", "checks": checks})
        return AsgiResponse(
            body.encode(), 200 if healthy else 503, headers={"content-type": "application/json"}
        )

    return "/health", health


def metrics_route(registry: CollectorRegistry) -> tuple[str, Any]:
    return "/metrics", make_asgi_app(registry)

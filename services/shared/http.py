"""The HTTP side of every service: /health and /metrics (Prometheus text format)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.asgi import AsgiResponse, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

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
    """The registry in Prometheus's text format, written in a worker thread: tens of
    thousands of series (the rollup's) take a while, and the event loop answers requests
    and consumes meanwhile."""

    @get(include_in_schema=False)
    async def metrics(scope: Any) -> AsgiResponse:
        body = await asyncio.to_thread(generate_latest, registry)
        return AsgiResponse(body, 200, headers={"content-type": CONTENT_TYPE_LATEST})

    return "/metrics", metrics

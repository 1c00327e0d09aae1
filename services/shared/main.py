"""Running a service process: ``python -m services.<name>`` serves NATS entry points,
background tasks and HTTP /health and /metrics until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import TYPE_CHECKING

from faststream.asgi import AsgiFastStream

from services.shared.http import health_route, metrics_route
from services.shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from faststream._internal.basic_types import SettingField


GC_THRESHOLDS = (50_000, 20, 100)
"""A reply that decodes a year of a plan's events (a replay) holds tens of thousands of
objects at once; with Python's default thresholds (700, 10, 10) collections run in the
middle of it, promote them, and a full collection of the whole heap follows every few
requests (23 ms measured at 100 plans, over 50 ms in a service that has run a year).
Collections of the young run less often, full ones a tenth as often."""


async def settle_garbage_collector() -> None:
    """What the process has loaded by now stays (never scanned again); the thresholds
    above from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve(service: ServiceRuntime, http_port: int) -> None:
    settings = service.settings
    logging.basicConfig(
        level=settings.log_level,
        format=f"%(asctime)s {service.name} %(levelname)s %(name)s: %(message)s",
    )
    app = AsgiFastStream(
        service.broker,
        asgi_routes=[health_route(service.health), metrics_route(service.registry)],
        on_startup=[service.start_dependencies],
        after_startup=[service.serving, settle_garbage_collector],  # healthy from now on
        after_shutdown=[service.stop_dependencies],
    )
    options: dict[str, SettingField] = {"host": settings.http_host, "port": http_port}
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(app.run(log_level=logging.WARNING, run_extra_options=options))

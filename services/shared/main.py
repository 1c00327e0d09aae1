"""Running a service process: ``python -m services.<name>`` serves NATS entry points,
background tasks and HTTP /health and /metrics until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from faststream.asgi import AsgiFastStream

from services.shared.http import health_route, metrics_route
from services.shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from faststream._internal.basic_types import SettingField


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
        after_startup=[service.serving],  # the broker has subscribed: healthy from now on
        after_shutdown=[service.stop_dependencies],
    )
    options: dict[str, SettingField] = {"host": settings.http_host, "port": http_port}
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(app.run(log_level=logging.WARNING, run_extra_options=options))

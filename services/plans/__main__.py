"""``python -m services.plans``: run the plans service (NATS entry points, relay, HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from faststream.asgi import AsgiFastStream
from prometheus_client import REGISTRY

from services.plans.bootstrap import PlansService
from services.plans.settings import PlansSettings
from services.shared.http import health_route, metrics_route

if TYPE_CHECKING:
    from faststream._internal.basic_types import SettingField


def main() -> None:
    settings = PlansSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s plans %(levelname)s %(name)s: %(message)s"
    )
    service = PlansService(settings)
    app = AsgiFastStream(
        service.broker,
        asgi_routes=[health_route(service.health), metrics_route(REGISTRY)],
        on_startup=[service.start_dependencies],
        after_shutdown=[service.stop_dependencies],
    )
    options: dict[str, SettingField] = {"host": settings.http_host, "port": settings.http_port}
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(app.run(log_level=logging.WARNING, run_extra_options=options))


if __name__ == "__main__":
    main()

"""Running a service as a real process, the way `spn up` does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from services.shared.settings import ServiceSettings


def start_service_process(
    name: str, settings: ServiceSettings, log: Path, **extra_env: str
) -> subprocess.Popen[bytes]:
    """``python -m services.<name>`` with the settings' NATS, database and namespace."""
    port = getattr(settings, "http_port")  # noqa: B009 - every service's settings have one
    env = dict(
        os.environ,
        SPN_NATS_URL=settings.nats_url,
        SPN_DATABASE_URL=settings.database_url or "",
        SPN_DB_SCHEMA=settings.db_schema,
        SPN_NAMESPACE=settings.namespace,
        **{f"SPN_{name.upper()}_HTTP_PORT": str(port)},
        **extra_env,
    )
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_healthy(process, f"http://127.0.0.1:{port}/health", log)
    return process


def start_plans_process(settings: ServiceSettings, log: Path) -> subprocess.Popen[bytes]:
    return start_service_process("plans", settings, log)


def wait_healthy(
    process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"service exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"service not healthy within {timeout}s:\n{log.read_text()}")


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, as a crash would."""
    process.kill()
    process.wait(10)

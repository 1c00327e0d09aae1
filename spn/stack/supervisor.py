"""``spn up``: NATS, PostgreSQL and every service as separate processes, started in order,
each waited on until healthy, all stopped cleanly on Ctrl-C."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from spn.stack.nats_server import NatsServer, StackError
from spn.stack.postgres import EmbeddedPostgres
from spn.stack.settings import StackSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port_setting: str

    def port(self, settings: StackSettings) -> int:
        return int(getattr(settings, self.port_setting))


SERVICES = [
    ServiceSpec("plans", "services.plans", "plans_http_port"),
    ServiceSpec("status", "services.status", "status_http_port"),
    ServiceSpec("rollup", "services.rollup", "rollup_http_port"),
]


@dataclass
class RunningService:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    url: str
    log: Path


class Stack:
    def __init__(self, settings: StackSettings, say: Callable[[str], None] = print):
        self.settings = settings
        self.say = say
        self.data_dir = settings.data_dir.resolve()
        self.nats: NatsServer | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.services: list[RunningService] = []
        self.nats_url = ""
        self.database_url = ""
        self._lock: IO[str] | None = None

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._acquire_lock()
        self.nats_url = self.settings.nats_url or self._start_nats()
        self.database_url = self.settings.database_url or self._start_postgres()
        for spec in SERVICES:
            self._start_service(spec)
        self.say(self.describe())

    def stop(self) -> None:
        for service in reversed(self.services):
            _terminate(service.process)
            self.say(f"stopped {service.spec.name}")
        self.services.clear()
        if self.nats:
            self.nats.stop()
            self.nats = None
            self.say("stopped NATS")
        if self.postgres:
            self.postgres.stop()
            self.postgres = None
            self.say("stopped PostgreSQL")
        if self._lock:
            self._lock.close()
            self._lock = None

    def wait(self) -> int:
        """Block until Ctrl-C / SIGTERM (return 0) or until a service dies (return 1)."""
        stopping = False

        def on_signal(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stopping:
                for service in self.services:
                    if service.process.poll() is not None:
                        self.say(
                            f"{service.spec.name} exited ({service.process.returncode}); "
                            f"see {service.log}"
                        )
                        return 1
                time.sleep(0.3)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.say("stopping ...")
        return 0

    def describe(self) -> str:
        nats_note = f"embedded, data in {self.nats.data_dir}" if self.nats else "external"
        pg_note = f"embedded, data in {self.postgres.data_dir}" if self.postgres else "external"
        lines = [
            "SPN stack is up",
            f"  NATS        {self.nats_url}  ({nats_note})",
            f"  PostgreSQL  {self.database_url}  ({pg_note})",
        ]
        for service in self.services:
            lines.append(
                f"  {service.spec.name:<11} {service.url}/health  {service.url}/metrics"
                f"  (log {service.log})"
            )
        lines.append(
            f"  namespace   {self.settings.namespace} "
            f"(events in stream {self.settings.namespace.upper()}_EVENTS)"
        )
        return "\n".join(lines)

    # -- parts -----------------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.data_dir / "stack.lock", "w")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StackError(
                f"another spn stack is running with data directory {self.data_dir}"
            ) from None
        self._lock = lock

    def _start_nats(self) -> str:
        self.nats = NatsServer(self.data_dir / "nats", self.settings.nats_port)
        self.say(f"starting NATS on port {self.settings.nats_port} ...")
        self.nats.start()
        return self.nats.url

    def _start_postgres(self) -> str:
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
        self.say("starting PostgreSQL ...")
        return self.postgres.start()

    def _start_service(self, spec: ServiceSpec) -> None:
        port = spec.port(self.settings)
        log_path = self.data_dir / "logs" / f"{spec.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            SPN_NATS_URL=self.nats_url,
            SPN_DATABASE_URL=self.database_url,
            SPN_NAMESPACE=self.settings.namespace,
            SPN_HTTP_HOST=self.settings.http_host,
            **{f"SPN_{spec.name.upper()}_HTTP_PORT": str(port)},
        )
        self.say(f"starting {spec.name} service ...")
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", spec.module],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches `spn up` only; it stops all in order
            )
        running = RunningService(
            spec, process, f"http://{self.settings.http_host}:{port}", log_path
        )
        self.services.append(running)  # before waiting, so stop() ends it if it never gets healthy
        self._wait_healthy(running)

    def _wait_healthy(self, service: RunningService) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise StackError(
                    f"{service.spec.name} exited at start ({service.process.returncode}): "
                    f"{_last_line(service.log)} (log {service.log})"
                )
            if _healthy(service.url + "/health"):
                return
            time.sleep(0.2)
        raise StackError(
            f"{service.spec.name} was not healthy within "
            f"{self.settings.startup_timeout:.0f}s; see {service.log}"
        )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _terminate(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"

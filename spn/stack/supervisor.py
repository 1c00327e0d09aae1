"""``spn up``: NATS, PostgreSQL and every service as separate processes, started in order,
each waited on until healthy, then supervised until Ctrl-C or SIGTERM stops all in order.

A process that dies (a service, or the embedded NATS or PostgreSQL) is started again on
the same port and data, after a growing delay, at most ``restart_limit`` times within
``restart_window``; past that the stack stops (exit 1). Every ``health_interval`` seconds
each service's /health and an external NATS or PostgreSQL are checked in the background;
what goes wrong, and when it is fine again, is said once. The pid of each process is in
``<data dir>/run/<name>.pid``."""

from __future__ import annotations

import fcntl
import functools
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from services.shared.eventstore import unreachable_reason as database_unreachable_reason
from services.shared.secrets import redact
from spn.stack import nats_server
from spn.stack.credentials import Credentials, write_users
from spn.stack.nats_server import NatsServer, StackError
from spn.stack.postgres import EmbeddedPostgres
from spn.stack.processes import STOP_TIMEOUT, OwnProcess, spawn
from spn.stack.prometheus import PrometheusServer
from spn.stack.settings import StackSettings

POLL_INTERVAL = 0.3  # seconds between two looks at every process
HEALTH_TIMEOUT = 2.0  # seconds a /health answer may take


@contextmanager
def signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM ignored meanwhile (only the main thread can change them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


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
    ServiceSpec("alerts", "services.alerts", "alerts_http_port"),
]


class Part(Protocol):
    """A process of the stack: the embedded NATS or PostgreSQL, or a service."""

    @property
    def name(self) -> str: ...

    @property
    def log(self) -> Path: ...

    @property
    def pid(self) -> int | None: ...

    def start(self) -> object:
        """Start it (again, after it died); StackError if it cannot."""

    def running(self) -> bool: ...

    def exit_note(self) -> str:
        """How it ended, e.g. ``exited (-9)``."""

    def ready(self) -> bool:
        """Serving; for a service, its /health is ok."""


@dataclass
class ServiceProcess:
    """One service's process; ``start`` runs it (again), appending to its log."""

    spec: ServiceSpec
    env: dict[str, str]
    url: str
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self.process = spawn([sys.executable, "-m", self.spec.module], self.log, self.env)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_note(self) -> str:
        return f"exited ({self.process.returncode if self.process else None})"

    def ready(self) -> bool:
        return health_problem(self.url) is None

    def interrupt(self) -> None:
        """Ask it to stop, as Ctrl-C would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait_stopped(self, deadline: float) -> None:
        """Wait until it ended, or kill it at ``deadline`` (a ``time.monotonic()``)."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class SmtpSink(OwnProcess):
    """The local SMTP sink's process (``spn.stack.smtp_sink``): each message as an .eml."""

    directory: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    name: str = "smtp-sink"

    def start(self) -> None:
        argv = [sys.executable, "-m", "spn.stack.smtp_sink", str(self.directory), str(self.port)]
        self.process = spawn(argv, self.log, dict(os.environ))

    def ready(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True


class RestartPolicy:
    """At most ``limit`` restarts within any ``window`` seconds. The first restart in the
    window is immediate; each further one waits twice as long as the one before (``backoff``
    seconds, then 2, 4, ... times that, at most ``max_backoff``)."""

    def __init__(self, limit: int, window: float, backoff: float = 1.0, max_backoff: float = 30.0):
        self.limit = limit
        self.window = window
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._restarts: deque[float] = deque()

    @property
    def count(self) -> int:
        """Restarts in the window, as of the last ``allow``."""
        return len(self._restarts)

    @property
    def span(self) -> str:
        """The window in words: ``10 min``."""
        return _span(self.window)

    def allow(self, now: float) -> bool:
        """Whether a restart at ``now`` is within the limit; if so, it is counted."""
        while self._restarts and self._restarts[0] <= now - self.window:
            self._restarts.popleft()
        if len(self._restarts) >= self.limit:
            return False
        self._restarts.append(now)
        return True

    def delay(self) -> float:
        """Seconds to wait before the restart just allowed."""
        if self.count <= 1:
            return 0.0
        return float(min(self.backoff * 2 ** (self.count - 2), self.max_backoff))


class State(Enum):
    UP = "up"
    WAITING = "waiting to start again"
    STARTING = "starting again"


class Supervised:
    """One process under supervision. When it dies it is started again after the policy's
    delay, then looked at (without blocking) until ready. ``tick`` returns False once the
    process keeps dying past the policy's limit."""

    def __init__(
        self,
        part: Part,
        policy: RestartPolicy,
        startup_timeout: float,
        on_start: Callable[[Part], None],
        say: Callable[[str], None],
    ):
        self.part = part
        self.policy = policy
        self.startup_timeout = startup_timeout
        self.on_start = on_start
        self.say = say
        self.state = State.UP
        self._due = 0.0  # WAITING: when to start again; STARTING: when to stop waiting

    def steady(self) -> bool:
        """Up and not being restarted: what its /health is about."""
        return self.state is State.UP and self.part.running()

    def tick(self, now: float) -> bool:
        if self.state is State.WAITING:
            return True if now < self._due else self._start_again()
        if not self.part.running():
            return self._died(now, self.part.exit_note())
        if self.state is State.STARTING:
            self._look_ready(now)
        return True

    def _died(self, now: float, note: str) -> bool:
        policy = self.policy
        if not policy.allow(now):
            return self._give_up(note)
        delay = policy.delay()
        after = f" in {delay:g}s" if delay else ""
        self.say(
            f"{self.part.name} {note}; restarting{after} ({policy.count} of {policy.limit} in "
            f"{policy.span}); log: {self.part.log}"
        )
        self.state, self._due = State.WAITING, now + delay
        return True

    def _give_up(self, note: str) -> bool:
        name, log, limit = self.part.name, self.part.log, self.policy.limit
        if limit == 0:
            self.say(f"{name} {note}; not restarting (SPN_RESTART_LIMIT=0); see {log}")
        else:
            restarts = "1 restart" if limit == 1 else f"{limit} restarts"
            self.say(
                f"{name} keeps exiting: gave up after {restarts} in {self.policy.span}; see {log}"
            )
        return False

    def _start_again(self) -> bool:
        try:
            self.part.start()
        except StackError as error:
            return self._died(time.monotonic(), f"did not start again: {error}")
        self.on_start(self.part)
        self.state, self._due = State.STARTING, time.monotonic() + self.startup_timeout
        return True

    def _look_ready(self, now: float) -> None:
        if self.part.ready():
            self.say(f"{self.part.name} is healthy again (pid {self.part.pid})")
        elif now > self._due:
            self.say(
                f"{self.part.name} is not healthy {self.startup_timeout:g}s after restarting; "
                f"see {self.part.log}"
            )
        else:
            return
        self.state = State.UP


@dataclass(frozen=True)
class Probe:
    """Something watched. ``check`` says what is wrong (``is unhealthy: nats unreachable``)
    or None; ``recovered`` is said when it is fine again; ``active`` tells whether to look."""

    name: str
    check: Callable[[], str | None]
    recovered: str
    active: Callable[[], bool] = lambda: True


class Watch:
    """Runs the probes in the background, all at once, every ``interval`` seconds (0: never),
    and says in one line each change of what is wrong with one, and when it is fine again."""

    def __init__(self, interval: float, say: Callable[[str], None]):
        self.interval = interval
        self.say = say
        self._problems: dict[str, str] = {}
        self._due = time.monotonic() + interval
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="spn-watch")
        self._round: list[tuple[Probe, Future[str | None]]] = []

    def tick(self, now: float, probes: list[Probe]) -> None:
        """Take the results of a round once all are in; start the next when it is due."""
        if self._round:
            if all(future.done() for _, future in self._round):
                self._finish_round()
        elif self.interval and now >= self._due:
            self._round = [
                (probe, self._pool.submit(probe.check)) for probe in probes if probe.active()
            ]
            self._due = now + self.interval

    def forget(self, name: str) -> None:
        """Take ``name`` as fine (it was started again and is healthy)."""
        self._problems.pop(name, None)
        self._round = [(probe, future) for probe, future in self._round if probe.name != name]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _finish_round(self) -> None:
        for probe, future in self._round:
            if probe.active():  # a service that died meanwhile is the supervisor's to report
                self._update(probe, future.result())
        self._round = []

    def _update(self, probe: Probe, problem: str | None) -> None:
        if problem == self._problems.get(probe.name):
            return
        if problem:
            self._problems[probe.name] = problem
            self.say(f"{probe.name} {problem}")
        else:
            del self._problems[probe.name]
            self.say(f"{probe.name} {probe.recovered}")


@dataclass(frozen=True)
class PidFiles:
    """``<directory>/<name>.pid`` of each running process (``nats``, ``postgresql``, ``status``)."""

    directory: Path

    def path(self, part: Part) -> Path:
        return self.directory / f"{part.name.lower()}.pid"

    def write(self, part: Part) -> None:
        if part.pid is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.path(part).write_text(f"{part.pid}\n")

    def remove(self, part: Part) -> None:
        self.path(part).unlink(missing_ok=True)


def _say(line: str) -> None:
    print(line, flush=True)  # at once, also into a pipe: the stack's messages are its log


class Stack:
    def __init__(self, settings: StackSettings, say: Callable[[str], None] = _say):
        self.settings = settings
        self.say = say
        self.data_dir = settings.data_dir.resolve()
        self.pid_files = PidFiles(self.data_dir / "run")
        self.nats: NatsServer | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.smtp_sink: SmtpSink | None = None
        self.prometheus: PrometheusServer | None = None
        self.services: list[ServiceProcess] = []
        self.credentials = Credentials(self.data_dir, settings.namespace,
                                       [spec.name for spec in SERVICES])  # fmt: skip
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
        if self.settings.nats_url and self.settings.nats_auth_file:
            users = self.settings.nats_auth_file
            if write_users(self.credentials, users):
                raise StackError(f"NATS users written to {users}, which the external server "
                                 "has not read yet: reload it (nats-server --signal reload), "
                                 "then run spn up again")  # fmt: skip
            self.say(f"NATS users as in {users} (the external server includes it)")
        self.nats_url = self.settings.nats_url or self._start_nats()
        self.database_url = self.settings.database_url or self._start_postgres()
        if not self.settings.smtp_host:
            self._start_smtp_sink()
        for spec in SERVICES:
            self._start_service(spec)
        if self.settings.prometheus is True:
            self._start_prometheus()
        self.say(self.describe())

    def stop(self) -> None:
        """Every part stopped (a service that hangs is killed after STOP_TIMEOUT); another
        Ctrl-C or SIGTERM meanwhile is ignored, so it never leaves servers behind."""
        with signals_ignored():
            self._stop()

    def _stop(self) -> None:
        if self.prometheus:
            self.prometheus.stop()
            self._stopped(self.prometheus)
            self.prometheus = None
        deadline = time.monotonic() + STOP_TIMEOUT
        for service in self.services:
            service.interrupt()  # all at once: one that hangs does not hold up the others
        for service in reversed(self.services):
            service.wait_stopped(deadline)
            self._stopped(service)
        self.services.clear()
        if self.smtp_sink:
            self.smtp_sink.stop()
            self._stopped(self.smtp_sink)
            self.smtp_sink = None
        if self.nats:
            self.nats.stop()
            self._stopped(self.nats)
            self.nats = None
        if self.postgres:
            self.postgres.stop()
            self._stopped(self.postgres)
            self.postgres = None
        if self._lock:
            self._lock.close()
            self._lock = None

    def wait(self) -> int:
        """Supervise until Ctrl-C or SIGTERM (return 0) or until a process keeps dying (1)."""
        watch = Watch(self.settings.health_interval, self.say)
        supervised = [self._supervised(part, watch) for part in self._parts()]
        probes = self._probes(supervised)
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # as Ctrl-C
        try:
            while all(each.tick(time.monotonic()) for each in supervised):
                watch.tick(time.monotonic(), probes)
                time.sleep(POLL_INTERVAL)
            return 1
        except KeyboardInterrupt:
            previous = signal.SIG_IGN  # from now on another Ctrl-C cannot cut the stop short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self.say("stopping ...")
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            watch.close()

    def describe(self) -> str:
        nats_note = f"embedded, data in {self.nats.data_dir}" if self.nats else "external"
        pg_note = f"embedded, data in {self.postgres.data_dir}" if self.postgres else "external"
        lines = [
            "SPN stack is up",
            f"  NATS        {redact(self.nats_url)}  ({nats_note})",
            f"  PostgreSQL  {redact(self.database_url)}  ({pg_note})",
        ]
        if self.nats:
            lines.append(f"  credentials {self.credentials.directory}  (NATS users: the "
                         "operator's, the CLI's by default; each service's; spn org "
                         "credentials ORG for an organization)")  # fmt: skip
        if self.smtp_sink:
            lines.append(f"  SMTP        127.0.0.1:{self.smtp_sink.port}  (local sink: each "
                         f"message in {self.smtp_sink.directory})")  # fmt: skip
        else:
            lines.append(f"  SMTP        {self.settings.smtp_host}  (external)")
        for service in self.services:
            lines.append(
                f"  {service.name:<11} {service.url}/health  {service.url}/metrics"
                f"  (log {service.log})"
            )
        if self.prometheus:
            p = self.prometheus
            lines.append(f"  Prometheus  {p.url}  (embedded, scraping every {p.interval}; "
                         f"data in {p.directory})")  # fmt: skip
        lines.append(
            f"  namespace   {self.settings.namespace} "
            f"(events in stream {self.settings.namespace.upper()}_EVENTS)"
        )
        lines.append(f"  pid files   {self.pid_files.directory}/<name>.pid")
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
        """The embedded NATS, with a user for the operator and each service (and each
        organization given a credential): anonymous clients are refused."""
        self.credentials.ensure()
        self.nats = NatsServer(self.data_dir / "nats", self.settings.nats_port,
                               authorization=self.credentials.authorization)  # fmt: skip
        self.say(f"starting NATS on port {self.settings.nats_port} ...")
        self.nats.start()
        self.pid_files.write(self.nats)
        return self.nats.url

    def _start_postgres(self) -> str:
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
        self.say("starting PostgreSQL ...")
        url = self.postgres.start()
        self.pid_files.write(self.postgres)
        return url

    def _start_smtp_sink(self) -> None:
        port = self.settings.smtp_sink_port
        self.smtp_sink = SmtpSink(self.data_dir / "mail", port, self.data_dir / "logs" / "smtp.log")
        self.say(f"starting the local SMTP sink on port {port} ...")
        self.smtp_sink.start()
        self.pid_files.write(self.smtp_sink)
        self._wait_ready(self.smtp_sink, "the SMTP sink")

    def _start_prometheus(self) -> None:
        targets = {f"spn-{s.name}": s.url.removeprefix("http://") for s in self.services}
        self.prometheus = PrometheusServer(
            self.data_dir / "prometheus", self.settings.prometheus_port, targets,
            self.data_dir / "logs" / "prometheus.log", self.settings.prometheus_interval,
        )  # fmt: skip
        self.say(f"starting Prometheus on port {self.settings.prometheus_port} ...")
        try:
            self.prometheus.start()
        except (FileNotFoundError, ValueError) as error:
            self.prometheus = None
            raise StackError(f"SPN_PROMETHEUS is set, but {error}") from None
        self.pid_files.write(self.prometheus)
        self._wait_ready(self.prometheus, "Prometheus")

    def _wait_ready(self, part: Part, what: str) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout
        while not part.ready():
            if not part.running() or time.monotonic() > deadline:
                raise StackError(f"{what} did not start: {_last_line(part.log)}")
            time.sleep(0.1)

    def _start_service(self, spec: ServiceSpec) -> None:
        port = spec.port(self.settings)
        smtp = ({"SPN_SMTP_HOST": "127.0.0.1", "SPN_SMTP_PORT": str(self.smtp_sink.port),
                 "SPN_SMTP_SECURITY": "none"} if self.smtp_sink else {})  # fmt: skip
        own = {"SPN_NATS_CREDENTIALS": str(self.credentials.service_path(spec.name))
               } if self.settings.spn_users else {}  # fmt: skip  # else: the one given, if any
        env = dict(
            os.environ,
            **own,
            SPN_NATS_URL=self.nats_url,
            SPN_DATABASE_URL=self.database_url,
            SPN_NAMESPACE=self.settings.namespace,
            SPN_HTTP_HOST=self.settings.http_host,
            SPN_AUDIT_KEY_DIR=str(self.data_dir / "audit"),
            **smtp,
            **{f"SPN_{spec.name.upper()}_HTTP_PORT": str(port)},
        )
        url = f"http://{self.settings.http_host}:{port}"
        service = ServiceProcess(spec, env, url, self.data_dir / "logs" / f"{spec.name}.log")
        self.say(f"starting {spec.name} service ...")
        self.services.append(service)  # first, so stop() ends it if it never gets healthy
        service.start()
        self.pid_files.write(service)
        self._wait_healthy(service)

    def _wait_healthy(self, service: ServiceProcess) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout
        while time.monotonic() < deadline:
            if not service.running():
                raise StackError(
                    f"{service.name} {service.exit_note()} at start: "
                    f"{_last_line(service.log)} (log {service.log})"
                )
            if service.ready():
                return
            time.sleep(0.2)
        raise StackError(
            f"{service.name} was not healthy within "
            f"{self.settings.startup_timeout:.0f}s; see {service.log}"
        )

    def _stopped(self, part: Part) -> None:
        self.pid_files.remove(part)
        self.say(f"stopped {part.name}")

    # -- supervision -----------------------------------------------------------------------

    def _parts(self) -> list[Part]:
        embedded: list[Part] = [
            p for p in (self.nats, self.postgres, self.smtp_sink, self.prometheus) if p
        ]
        return [*embedded, *self.services]

    def _supervised(self, part: Part, watch: Watch) -> Supervised:
        policy = RestartPolicy(self.settings.restart_limit, self.settings.restart_window)
        on_start = functools.partial(self._restarted, watch)
        return Supervised(part, policy, self.settings.startup_timeout, on_start, self.say)

    def _restarted(self, watch: Watch, part: Part) -> None:
        self.pid_files.write(part)
        watch.forget(part.name)

    def _probes(self, supervised: list[Supervised]) -> list[Probe]:
        probes = [
            _service_probe(each.part, each) for each in supervised
            if isinstance(each.part, ServiceProcess)
        ]  # fmt: skip
        if self.settings.nats_url:
            probes.append(_external_probe("NATS", nats_server.unreachable_reason, self.nats_url))
        if self.settings.database_url:
            probes.append(
                _external_probe("PostgreSQL", database_unreachable_reason, self.database_url)
            )
        return probes


def _service_probe(service: ServiceProcess, supervised: Supervised) -> Probe:
    return Probe(
        service.name, lambda: health_problem(service.url), "is healthy again", supervised.steady
    )


def _external_probe(what: str, reason: Callable[[str], str | None], url: str) -> Probe:
    def check() -> str | None:
        why = reason(url)
        return None if why is None else f"is unreachable: {why}"

    return Probe(f"external {what}", check, "is reachable again")


def health_problem(url: str, timeout: float = HEALTH_TIMEOUT) -> str | None:
    """None if ``<url>/health`` says ok, else what is wrong, said of the service."""
    try:
        with urllib.request.urlopen(url + "/health", timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # a 503 comes with the checks
        body = error.read()
    except (OSError, http.client.HTTPException) as error:
        return f"does not answer /health ({getattr(error, 'reason', None) or error})"
    return _failing_checks(body)


def _failing_checks(body: bytes) -> str | None:
    try:
        health = json.loads(body)
        if health["status"] == "ok":
            return None
        failing = [f"{name} {state}" for name, state in health["checks"].items() if state != "ok"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "answers /health without its status"
    return "is unhealthy: " + (", ".join(failing) or "no check named")


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def _span(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"

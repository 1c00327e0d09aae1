"""`spn up` as an operator runs it, with handles to hurt it: the pid of each part (from
``<data dir>/run``), signals, a webhook receiver the test can take down, and the operator's
NATS credential for the test's own connections."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from services.shared.credentials import connect_options
from spn.cli.client import SpnClient
from spn.stack.credentials import operator_path
from spn.stack.nats_server import free_port
from spn.stack.postgres import EmbeddedPostgres
from tests.e2e.conftest import SPN, stack_env

WEBHOOK_SECRET = "whsec_" + "c3BuLWZhdWx0LXN1aXRlLXNlY3JldA=="
ACK_WAIT = 2.0  # seconds: a paused service's batch is past its ack wait soon


class Receiver:
    """A real HTTP endpoint for the LEA's webhook, that can be taken down and brought back
    on the same port; it keeps the ``webhook-id`` of every call it answered 2xx."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def up(self) -> None:
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                calls.append(self.headers.get("webhook-id", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.allow_reuse_address = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class FaultStack:
    data_dir: Path
    receiver: Receiver
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # what a fault saw as it hit
    _database_url: str = ""

    def start(self) -> None:
        self.env = stack_env(self.data_dir)
        self.env.update(
            SPN_ACK_WAIT=str(ACK_WAIT),
            SPN_RELAY_CHECK_SECONDS="1",  # a relay finds a purged stream within a second
            SPN_RESTART_LIMIT="50",  # the suite kills every part, some of them twice
            SPN_HEALTH_INTERVAL="1",
            SPN_ALERTS_RETRY_FIRST="0.5",
            SPN_ALERTS_RETRY_MAX="2",
            SPN_ALERTS_WEBHOOK_RETRY="[0.5, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2]",
            SPN_ALERTS_WEBHOOKS=json.dumps(
                {"fs-lea": {"url": self.receiver.url, "secret": WEBHOOK_SECRET}}
            ),
        )
        self.process = subprocess.Popen(
            [SPN, "up"], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        else:
            raise AssertionError("spn up ended before the stack was up:\n" + "".join(self.output))
        threading.Thread(target=self._keep_output, daemon=True).start()

    def _keep_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    # -- its parts -------------------------------------------------------------------------

    def pid(self, part: str) -> int:
        """``part``: nats, postgresql, smtp-sink, plans, status, rollup, alerts."""
        return int((self.data_dir / "run" / f"{part}.pid").read_text())

    def signal(self, part: str, which: signal.Signals) -> int:
        pid = self.pid(part)
        os.kill(pid, which)
        return pid

    def alive(self, part: str) -> bool:
        try:
            return _alive(self.pid(part))
        except (FileNotFoundError, ValueError):
            return False

    def wait_restarted(self, part: str, old_pid: int, timeout: float = 60) -> None:
        """Until the supervisor has started the part again (a new pid, alive)."""
        wait_for(lambda: self._new_pid_alive(part, old_pid), timeout, f"{part} restarted")

    def _new_pid_alive(self, part: str, old_pid: int) -> bool:
        try:
            pid = self.pid(part)
        except (FileNotFoundError, ValueError):
            return False
        return pid != old_pid and _alive(pid)

    def restarts(self) -> list[str]:
        return [line.strip() for line in self.output if "; restarting" in line]

    # -- talking to it ---------------------------------------------------------------------

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.env['SPN_NATS_PORT']}"

    @property
    def credentials(self) -> Path:
        return operator_path(self.data_dir)

    def client(self, timeout: float = 10) -> SpnClient:
        return SpnClient(self.nats_url, "spn", timeout=timeout, credentials=self.credentials)

    async def connect(self, **options: Any) -> Client:
        """The operator's own connection, reconnecting for ever (NATS may be killed)."""
        return await nats.connect(
            self.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
            **connect_options(self.credentials), **options,
        )  # fmt: skip

    def database_url(self) -> str:
        """The embedded PostgreSQL's URL (its Unix socket), the same after every restart."""
        if not self._database_url:
            self._database_url = EmbeddedPostgres(self.data_dir / "postgres").start()
        return self._database_url

    def mail(self) -> list[str]:
        """The Message-ID of every message the SMTP sink took (its files are named by it)."""
        return sorted(p.stem for p in (self.data_dir / "mail").glob("*.eml"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split(") ", 1)[1][:1] != "Z"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


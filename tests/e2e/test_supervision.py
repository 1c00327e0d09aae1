"""`spn up` looks after its processes: a killed service, the embedded NATS or PostgreSQL
is started again on the same port or data while the stack keeps running; past the restart
limit the stack stops with exit code 1; SIGTERM stops it at once, even mid-restart."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from services.shared.eventstore import unreachable_reason
from spn.stack.nats_server import free_port, port_open
from tests.e2e.conftest import SPN, stack_env

pytestmark = pytest.mark.slow

SERVICES = ("plans", "status", "rollup")


class Up:
    """`spn up` in its own process group, its output read line by line as it comes."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.data_dir = Path(env["SPN_DATA_DIR"])
        self.process = subprocess.Popen(
            [SPN, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group, as in a terminal
        )  # fmt: skip
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def expect(self, text: str, timeout: float) -> str:
        """The next line containing ``text``, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"spn up ended before {text!r}:\n{self.output()}")
            if text in line:
                return line
        pytest.fail(f"no {text!r} within {timeout}s:\n{self.output()}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def output(self) -> str:
        """Everything it printed so far (all of it once it ended)."""
        if self.process.poll() is not None:
            self._reader.join(5)
        return "".join(self.seen)

    def pid(self, name: str) -> int:
        return int((self.data_dir / "run" / f"{name}.pid").read_text())

    def port(self, name: str) -> int:
        return int(self.env[f"SPN_{name.upper()}_HTTP_PORT"])

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.seen.append(line)
            self._lines.put(line)
        self._lines.put(None)


@contextmanager
def spn_up(tmp_path: Path, **settings: str) -> Iterator[Up]:
    env = stack_env(tmp_path / "data")
    env.update(SPN_ROLLUP_HTTP_PORT=str(free_port()), SPN_HEALTH_INTERVAL="1", **settings)
    up = Up(env)
    try:
        up.expect("Ctrl-C stops everything", timeout=90)
        yield up
    finally:
        up.stop()


def health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        return dict(json.load(error))
    except OSError:
        return None


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout}s"
        time.sleep(0.2)


def healthy(port: int) -> bool:
    answer = health(port)
    return answer is not None and answer["status"] == "ok"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_service_nats_and_postgresql_are_started_again(tmp_path: Path):
    with spn_up(tmp_path) as up:
        killed = up.pid("status")
        os.kill(killed, signal.SIGKILL)
        line = up.expect("status exited (-9); restarting (1 of 5 in 10 min)", timeout=5)
        assert line.strip().endswith(f"log: {up.data_dir.resolve()}/logs/status.log")
        up.expect("status is healthy again", timeout=60)
        assert up.pid("status") != killed and alive(up.pid("status"))
        assert healthy(up.port("status"))
        assert up.process.poll() is None, "spn up keeps running"

        services = {name: up.pid(name) for name in SERVICES}
        nats_port = int(up.env["SPN_NATS_PORT"])
        os.kill(up.pid("nats"), signal.SIGKILL)
        up.expect("NATS exited (-9); restarting (1 of 5 in 10 min)", timeout=3)
        up.expect("NATS is healthy again", timeout=15)
        assert port_open("127.0.0.1", nats_port)
        ports = [up.port(name) for name in SERVICES]
        wait_until(lambda: all(healthy(port) for port in ports), 45, "every service healthy")
        assert {name: up.pid(name) for name in SERVICES} == services, "no service restarted"

        os.kill(up.pid("postgresql"), signal.SIGKILL)
        up.expect("PostgreSQL stopped running; restarting (1 of 5 in 10 min)", timeout=3)
        up.expect("PostgreSQL is healthy again", timeout=30)
        database = f"postgresql://postgres@/spn?host={up.data_dir.resolve()}/postgres"
        assert unreachable_reason(database) is None
        assert {name: up.pid(name) for name in SERVICES} == services, "no service restarted"

        os.kill(up.pid("status"), signal.SIGKILL)
        up.expect("status exited (-9); restarting in 1s (2 of 5 in 10 min)", timeout=5)
        asked = time.monotonic()
        assert up.stop(signal.SIGTERM) == 0, up.output()
        assert time.monotonic() - asked < 20, "stops quickly while a restart is under way"
    output = up.output()
    assert "stopping ..." in output and "stopped PostgreSQL" in output
    assert not port_open("127.0.0.1", nats_port)
    assert not any(port_open("127.0.0.1", up.port(name)) for name in SERVICES)
    assert list((up.data_dir / "run").iterdir()) == [], "every pid file removed"


def test_a_service_that_keeps_exiting_stops_the_stack(tmp_path: Path):
    with spn_up(tmp_path, SPN_RESTART_LIMIT="1") as up:
        os.kill(up.pid("rollup"), signal.SIGKILL)
        up.expect("rollup exited (-9); restarting (1 of 1 in 10 min)", timeout=5)
        up.expect("rollup is healthy again", timeout=60)
        os.kill(up.pid("rollup"), signal.SIGKILL)
        line = up.expect("rollup keeps exiting", timeout=5)
        assert "gave up after 1 restart in 10 min; see " in line
        assert up.process.wait(30) == 1, up.output()
    output = up.output()
    assert "stopped plans" in output and "stopped NATS" in output
    assert "stopped PostgreSQL" in output
    assert not port_open("127.0.0.1", int(up.env["SPN_NATS_PORT"]))


def test_a_second_ctrl_c_while_stopping_leaves_no_server_behind(tmp_path: Path):
    with spn_up(tmp_path) as up:
        parts = [up.pid(name) for name in SERVICES]
        os.killpg(up.process.pid, signal.SIGINT)
        up.expect("stopping ...", timeout=10)
        os.killpg(up.process.pid, signal.SIGINT)  # impatient: Ctrl-C again
        assert up.process.wait(60) == 0, up.output()
    output = up.output()
    assert "stopped NATS" in output and "stopped PostgreSQL" in output, output
    assert "interrupted" not in output
    assert not any(alive(pid) for pid in parts)
    assert not port_open("127.0.0.1", int(up.env["SPN_NATS_PORT"]))
    assert left_behind(up.data_dir) == []  # nor any process started again meanwhile


def left_behind(data_dir: Path) -> list[str]:
    """Processes of this stack still running: servers and services started for it."""
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(process.info["cmdline"] or [])
            environ = process.info["environ"] or {}
            if str(data_dir) in cmdline or environ.get("SPN_DATA_DIR") == str(data_dir):
                found.append(f"{process.pid} {cmdline}")
    return found

"""The CLI as a user runs it: the installed `spn` script, against `spn up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from spn.stack.nats_server import free_port, port_open

SPN = str(Path(sys.executable).parent / "spn")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "network"


@dataclass
class Cli:
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SPN, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )


def stack_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPN_")}
    env.update(
        SPN_DATA_DIR=str(data_dir),
        SPN_NATS_PORT=str(free_port()),
        SPN_PLANS_HTTP_PORT=str(free_port()),
        SPN_STATUS_HTTP_PORT=str(free_port()),
        SPN_ROLLUP_HTTP_PORT=str(free_port()),
        SPN_ALERTS_HTTP_PORT=str(free_port()),
        SPN_SMTP_SINK_PORT=str(free_port()),
        SPN_PROMETHEUS="0",  # the boards' test runs its own; test_demo turns it on
        SPN_PROMETHEUS_PORT=str(free_port()),
        SPN_PROMETHEUS_INTERVAL="1s",
        SPN_ALERTS_GROUP_WAIT="1",  # gather a close's alerts for a second, not minutes
        SPN_STATUS_AUTO_CLOSE_DAYS="0",  # tests close periods themselves
        SPN_USER="e2e-tester",
    )
    return env


@contextmanager
def running(argv: list[str], env: dict[str, str], output: list[str] | None = None
            ) -> Iterator[Cli]:  # fmt: skip
    """`spn up` (or `spn demo --keep-running`) until the stack is up; Ctrl-C after. What it
    printed, up to its last line, is added to ``output``."""
    shown = output if output is not None else []
    up = subprocess.Popen([SPN, *argv], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    assert up.stdout is not None
    for line in up.stdout:
        shown.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        pytest.fail(f"spn {argv[0]} ended before the stack was up:\n" + "".join(shown))
    try:
        yield Cli(env)
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            rest, _ = up.communicate(timeout=90)
        except subprocess.TimeoutExpired:  # never leave a stack behind
            os.killpg(up.pid, signal.SIGKILL)
            rest, _ = up.communicate(timeout=10)
        shown.append(rest)


@pytest.fixture
def cli_without_stack(tmp_path: Path) -> Cli:
    return Cli(stack_env(tmp_path / "data"))


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    env = stack_env(tmp_path_factory.mktemp("stack") / "data")
    up = subprocess.Popen(
        [SPN, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )  # fmt: skip
    assert up.stdout is not None
    seen = []
    for line in up.stdout:  # "SPN stack is up" comes only once every part is healthy
        seen.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        pytest.fail("spn up ended before the stack was up:\n" + "".join(seen))
    yield Cli(env)
    os.killpg(up.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
    rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, "".join(seen) + rest
    assert "stopped PostgreSQL" in rest
    assert "stopped plans" in rest and "stopped status" in rest
    nats_port = int(env["SPN_NATS_PORT"])
    deadline = time.monotonic() + 10
    while port_open("127.0.0.1", nats_port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not port_open("127.0.0.1", nats_port), "NATS still listening after spn up stopped"

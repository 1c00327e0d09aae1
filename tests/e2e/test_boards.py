"""A real Prometheus, started by a fixture with deploy/prometheus's jobs and rules, scrapes
a stack through a simulated school year (`spn demo`); then every PromQL expression of
every board panel and every rule is evaluated: each must answer (the test lists the ones
that return nothing), and no board or rule may name a metric the stack does not serve."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spn.boards.dashboards import dashboards
from spn.boards.export import expressions, preview
from spn.boards.queries import Prometheus, evaluate, selectors
from spn.stack import prometheus as embedded
from spn.stack.nats_server import free_port
from spn.stack.prometheus import PrometheusServer
from spn.stack.supervisor import SERVICES
from tests.e2e.conftest import SPN, stack_env

JOBS = [f"spn-{spec.name}" for spec in SERVICES]


@pytest.fixture
def stack_env_and_prometheus(tmp_path: Path) -> Iterator[tuple[dict[str, str], Prometheus]]:
    assert embedded.binary(), "prometheus is not installed (.ci/run installs the Debian package)"
    env = stack_env(tmp_path / "data")
    targets = {f"spn-{s.name}": f"127.0.0.1:{env[f'SPN_{s.name.upper()}_HTTP_PORT']}"
               for s in SERVICES}  # fmt: skip
    server = PrometheusServer(tmp_path / "prometheus", free_port(), targets,
                              tmp_path / "prometheus.log", interval="1s")  # fmt: skip
    server.start()
    try:
        deadline = time.monotonic() + 30
        while not server.ready():
            assert server.running() and time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.2)
        client = Prometheus(server.url)
        yield env, client
        client.close()
    finally:
        server.stop()


def test_every_board_and_rule_query_answers_after_a_school_year(
    stack_env_and_prometheus, tmp_path: Path
):
    """And each board drawn to PNG from those answers (``spn boards preview``), to look
    at: the test's ``tmp_path``/boards."""
    env, prometheus = stack_env_and_prometheus
    env = env | {"SPN_ROLLUP_METRICS_SECONDS": "1"}
    demo = subprocess.Popen(
        [SPN, "demo", "--keep-running"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert demo.stdout is not None
    seen = []
    try:
        for line in demo.stdout:
            seen.append(line)
            if "The stack keeps running" in line:
                break
        else:
            pytest.fail("spn demo ended before its year was over:\n" + "".join(seen))
        prometheus.wait_for_scrapes(time.time(), JOBS)
        answers = []
        for _ in range(20):  # recording rules are evaluated every second
            answers = evaluate(prometheus, expressions())
            if all(a.answered for a in answers):
                break
            time.sleep(1)
        unanswered = [f"{a.expression.source}: {a.error or a.empty or 'no data'}"
                      for a in answers if not a.answered]  # fmt: skip
        assert not unanswered, "\n".join(unanswered)
        served = prometheus.metric_names()
        named = {s.split("{")[0] for e in expressions() for s in selectors(e.expr)}
        assert named - served == set(), "metrics no service serves"
        assert len(answers) > 60
        drawn = preview(prometheus.url, tmp_path / "boards")
        assert sorted(p.name for p in drawn) == sorted(f"{uid}.png" for uid in dashboards())
        assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 20_000
                   for p in drawn)  # fmt: skip
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, "".join(seen[-20:]) + rest

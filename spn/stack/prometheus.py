"""An embedded Prometheus for ``spn up`` (``SPN_PROMETHEUS=1``) and the tests: the Debian
package's ``prometheus`` binary, run with ``deploy/prometheus/prometheus.yml`` (its jobs,
its rules) pointed at the stack's own ports."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from spn.stack.processes import OwnProcess, spawn

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def duration_seconds(duration: str) -> float:
    """``500ms``, ``5s``, ``1m`` in seconds (the durations SPN_PROMETHEUS_INTERVAL takes)."""
    match = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    if match is None:
        raise ValueError(f"not a duration of ms, s or m: {duration!r}")
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[match.group(2)]


def binary() -> str | None:
    return shutil.which("prometheus")


def config(targets: Mapping[str, str], port: int, interval: str) -> dict[str, Any]:
    """The deployed configuration with each job's target replaced (``job -> host:port``),
    scraped and evaluated every ``interval``, its rule files by absolute path."""
    found: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    found["global"] |= {"scrape_interval": interval, "evaluation_interval": interval}
    found["rule_files"] = [str(DEPLOY / path) for path in found["rule_files"]]
    targets = {**targets, "prometheus": f"127.0.0.1:{port}"}
    missing = {job["job_name"] for job in found["scrape_configs"]} - set(targets)
    if missing:
        raise ValueError(f"no target for the jobs {sorted(missing)}")
    for job in found["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return found


@dataclass
class PrometheusServer(OwnProcess):
    """One Prometheus process, its data and configuration under ``directory``."""

    directory: Path
    port: int
    targets: Mapping[str, str]  # job -> host:port
    log: Path
    interval: str = "5s"
    process: subprocess.Popen[bytes] | None = None
    name: str = "prometheus"
    stop_signal: signal.Signals = signal.SIGTERM

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        found = binary()
        if found is None:
            raise FileNotFoundError("prometheus is not installed (Debian: apt install prometheus)")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "prometheus.yml"
        path.write_text(yaml.safe_dump(config(self.targets, self.port, self.interval)))
        argv = [
            found, f"--config.file={path}", f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=30d",
        ]  # fmt: skip
        self.process = spawn(argv, self.log, {})

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

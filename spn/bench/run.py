"""``spn bench``: the synthetic network through the embedded stack, beside raw baselines.

Network build goes through the same commands a user's import does. Reports go into the
inbox as ``spn report submit`` puts them; a month's ingest ends when every report has its
outcome and the rollup has taken every event the status service published. Each month is
then closed; the close ends when the rollup has judged it (every flag raised, every case
opened).
"""

from __future__ import annotations

import asyncio
import gc
import json
import platform
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import psutil
import psycopg
from psycopg import sql

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.audit import GetCheckpoint
from contracts.periods import plan_year_periods
from contracts.plans import ImprovementPlan
from contracts.subjects import events_stream
from spn.bench import baselines
from spn.bench.connect import credentials, nats_options
from spn.bench.network import PLAN_YEAR, SyntheticNetwork
from spn.bench.rebuild import raw_stream_read, rebuild_rollup
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from spn.cli.history import replayed
from spn.cli.reports import publish_reports
from spn.stack.supervisor import SERVICES, Stack

IN_FLIGHT = 16  # concurrent commands while building the network
CHUNK = 2000  # reports published per latency sample
TIMEOUT = 1800.0  # no wait of the benchmark lasts longer


@dataclass
class Results:
    schools: int
    months: int
    figures: dict[str, float] = field(default_factory=dict)
    closes: list[float] = field(default_factory=list)
    status_closes: list[float] = field(default_factory=list)
    judged_closes: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def as_json(self) -> dict[str, Any]:
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": psutil.cpu_count(), "memory_gb":
                        round(psutil.virtual_memory().total / 2**30, 1),
                        "python": platform.python_version(), "platform": platform.platform()},
            "schools": self.schools, "months": self.months, "figures": self.figures,
            "closes_s": self.closes, "status_closes_s": self.status_closes,
            "judged_closes_s": self.judged_closes,
            "peak_rss_mb": self.peak_rss_mb, "ingest_phases_s": dict(self.phases),
        }  # fmt: skip


class MemoryWatch:
    """Peak RSS of each process named by a pid file under ``<data>/run``."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for pid_file in self.run_dir.glob("*.pid"):
                try:
                    rss = psutil.Process(int(pid_file.read_text())).memory_info().rss
                except (OSError, ValueError, psutil.Error):
                    continue
                mb = rss / 2**20
                self.peak[pid_file.stem] = max(self.peak.get(pid_file.stem, 0), round(mb, 1))


async def build(client: SpnClient, network: SyntheticNetwork, say: Any) -> list[ImprovementPlan]:
    """Register the organizations, then import, submit and approve every school plan."""
    for org in network.organizations():
        await client.request(cmd.RegisterOrganization(organization=org))
    plans = list(network.plans())
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(index: int, plan: ImprovementPlan) -> None:
        async with gate:
            await client.request(cmd.ImportPlan(plan=plan, by="bench"))
            await client.request(cmd.SubmitPlan(plan=plan.key, organization=plan.organization,
                                                by="bench"))  # fmt: skip
            await client.request(cmd.ApprovePlan(
                plan=plan.key, organization=network.parent_of(index), by="bench"))  # fmt: skip

    for start in range(0, len(plans), 200):
        await asyncio.gather(*(one(start + i, p) for i, p in enumerate(plans[start : start + 200])))
        say(f"  plans approved: {min(start + 200, len(plans))}/{len(plans)}")
    return plans


def outcome_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM status_report_outcomes").fetchone()
        return int(row[0]) if row else 0


async def rollup_caught_up(nats_url: str, namespace: str) -> bool:
    nc = await nats.connect(nats_url, **nats_options())
    try:
        info = await nc.jetstream().consumer_info(events_stream(namespace), "rollup")
        return not info.num_pending and not info.num_ack_pending
    finally:
        await nc.close()


async def wait_for(condition: Any, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long for the stack")
        await asyncio.sleep(0.05)


async def ingest_month(
    nats_url: str, namespace: str, database_url: str, reports: list[st.ActionStatusReported],
    before: int, results: Results,
) -> float:  # fmt: skip
    """Seconds from the first publish until every report has its outcome and the rollup
    has every event; one latency sample per chunk (its publish to its last outcome)."""
    started = time.perf_counter()
    published: list[tuple[int, float]] = []
    for start in range(0, len(reports), CHUNK):
        chunk = reports[start : start + CHUNK]
        await publish_reports(nats_url, namespace, chunk, credentials())
        published.append((before + start + len(chunk), time.perf_counter()))
    results.phases["publish_s"] += time.perf_counter() - started
    pending = list(published)
    deadline = time.monotonic() + TIMEOUT
    while pending:
        count = await asyncio.to_thread(outcome_count, database_url)
        now = time.perf_counter()
        while pending and count >= pending[0][0]:
            results.latencies.append(now - pending.pop(0)[1])
        if time.monotonic() > deadline:
            raise TimeoutError(f"reports still without an outcome after {TIMEOUT:.0f}s")
        await asyncio.sleep(0.02)
    results.phases["outcomes_s"] += time.perf_counter() - started
    stored = time.perf_counter()
    await wait_for(lambda: rollup_caught_up(nats_url, namespace))
    results.phases["rollup_after_outcomes_s"] += time.perf_counter() - stored
    return time.perf_counter() - started


async def close_month(client: SpnClient, nats_url: str, namespace: str, database_url: str,
                      period: str, results: Results) -> float:  # fmt: skip
    """Seconds from the close request until every alert of the close is handed to the
    local SMTP server (read from the tables and the consumer's state, so that the watching
    adds no load to the services); the status service's own part (until it answers the
    request) and the time until the rollup has judged the period are kept apart."""
    started = time.perf_counter()
    await client.request(st.ClosePeriod(period=period, early=True))
    results.status_closes.append(time.perf_counter() - started)

    def judged() -> bool:
        with psycopg.connect(database_url) as conn:
            found = conn.execute(
                "SELECT 1 FROM rollup_judged_periods WHERE period = %s", (period,)
            ).fetchone()
            return found is not None

    await wait_for(lambda: asyncio.to_thread(judged))
    results.judged_closes.append(time.perf_counter() - started)
    await wait_for(lambda: alerts_sent(nats_url, namespace, database_url))
    return time.perf_counter() - started


async def alerts_sent(nats_url: str, namespace: str, database_url: str) -> bool:
    """The alerts service has taken every event in the stream, and every alert is in a
    message the SMTP server took, twice half a second apart (the rollup's relay publishes
    its flags and cases just after it judged the period)."""

    def unsent() -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM alerts_alerts WHERE message IS NULL) "
                "+ (SELECT count(*) FROM alerts_messages WHERE status = 'pending')"
            ).fetchone()
            return int(row[0]) if row else 0

    for _ in range(2):
        nc = await nats.connect(nats_url, **nats_options())
        try:
            info = await nc.jetstream().consumer_info(events_stream(namespace), "alerts")
        finally:
            await nc.close()
        if info.num_pending or info.num_ack_pending or await asyncio.to_thread(unsent):
            return False
        await asyncio.sleep(0.5)
    return True


async def run(stack: Stack, namespace: str, data_dir: Path, network: SyntheticNetwork,
              months: int, say: Any) -> Results:  # fmt: skip
    nats_url, database_url = stack.nats_url, stack.database_url
    results = Results(network.schools, months)
    with MemoryWatch(data_dir / "run") as memory:
        async with SpnClient(nats_url, namespace, timeout=300,
                             credentials=credentials()) as client:  # fmt: skip
            started = time.perf_counter()
            plans = await build(client, network, say)
            results.figures["build_plans_per_s"] = len(plans) / (time.perf_counter() - started)
            last = plans[-1].key
            await wait_for(lambda: _known(client, last))
            total, ingest_s = 0, 0.0
            sample: list[bytes] = []
            for period in plan_year_periods(PLAN_YEAR)[:months]:
                reports = [r for i, p in enumerate(plans) for r in network.reports(p, i, period)]
                sample += [r.to_json() for r in reports[: max(0, 50_000 - len(sample))]]
                ingest_s += await ingest_month(nats_url, namespace, database_url, reports,
                                               total, results)  # fmt: skip
                total += len(reports)
                results.closes.append(await close_month(
                    client, nats_url, namespace, database_url, period, results))  # fmt: skip
                say(f"  {period}: {len(reports)} reports, closed in {results.closes[-1]:.1f}s "
                    f"(status {results.status_closes[-1]:.1f}s, judged "
                    f"{results.judged_closes[-1]:.1f}s, then alerts sent)")  # fmt: skip
            say("  settling: every audit log takes the year's events ...")
            await asyncio.gather(*(client.request(GetCheckpoint(), service.name, timeout=TIMEOUT)
                                   for service in SERVICES))  # fmt: skip
            say("  replaying plans as of now ...")
            replays = await replay_times(client, [p.key for p in plans])
            results.figures["replay_p50_ms"] = statistics.median(replays)
            results.figures["replay_p99_ms"] = _percentile(replays, 0.99)
        say("  rebuilding the rollup's read models from the events stream ...")
        events, starting, seconds = await rebuild_rollup(stack, namespace, TIMEOUT)
        results.figures["rebuild_events"] = events
        results.figures["rebuild_start_s"] = starting  # the process until ready, apart
        results.figures["rebuild_events_per_s"] = events / seconds
        results.peak_rss_mb = dict(memory.peak)
    figures = results.figures
    figures["reports"] = total
    figures["ingest_reports_per_s"] = total / ingest_s
    figures["ingest_p50_s"] = statistics.median(results.latencies)
    figures["ingest_p99_s"] = _percentile(results.latencies, 0.99)
    figures["close_max_s"] = max(results.closes)
    figures["judged_max_s"] = max(results.judged_closes)
    figures["db_mb_per_100k_reports"] = _db_mb(database_url) * 100_000 / max(total, 1)
    say("  raw baselines ...")
    figures["raw_ingest_per_s"] = await baselines.raw_ingest(nats_url, database_url, sample)
    figures["ingest_ratio"] = figures["ingest_reports_per_s"] / figures["raw_ingest_per_s"]
    figures["raw_read_events_per_s"] = baselines.raw_read(database_url, "public")
    figures["raw_stream_read_per_s"] = await raw_stream_read(nats_url, namespace)
    figures["rebuild_ratio"] = figures["rebuild_events_per_s"] / figures["raw_stream_read_per_s"]
    return results


async def replay_times(client: SpnClient, keys: list[str], count: int = 200) -> list[float]:
    """Milliseconds of ``spn replay`` for ``count`` plans spread over the network: the
    plan's document at now, then its figures and its flags and cases as of then."""
    chosen = keys[:: max(1, len(keys) // count)][:count]
    times = []
    gc.collect()  # the benchmark holds the whole synthetic network in memory, the CLI of
    gc.freeze()  # `spn replay` none of it: its collections are not the replay's
    try:
        for key in chosen:
            started = time.perf_counter()
            await replayed(client, key, datetime.now(UTC))  # what spn replay --as-of asks
            times.append((time.perf_counter() - started) * 1000)
    finally:
        gc.unfreeze()
    return times


async def _known(client: SpnClient, key: str) -> bool:
    try:
        await client.request(st.GetPlanProgress(plan=key))
    except RefusedError:  # not adopted yet: the status service answers with an error
        return False
    return True


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _db_mb(database_url: str) -> float:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql.SQL("SELECT pg_database_size(current_database())")).fetchone()
        return float(row[0]) / 2**20 if row else 0.0


def write(results: Results, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{results.schools}-schools.json"
    path.write_text(json.dumps(results.as_json(), indent=2) + "\n")
    return path

"""Fuzzing every inbound contract against the real services on NATS and PostgreSQL: each
command and query subject, and the inbox. The property: a structured answer (a success or a
refusal naming what is wrong), never an internal error, silence, or a partial write; the
services stay healthy and go on working."""

from __future__ import annotations

import asyncio
import json
import time

import nats
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as hs
from psycopg import sql

from contracts import status as st
from contracts.base import Command
from contracts.export import versioned_contracts
from contracts.replies import Reply
from contracts.subjects import subject
from services.alerts.bootstrap import AlertsService
from services.plans.bootstrap import PlansService
from services.rollup.bootstrap import RollupService
from services.shared.runtime import ServiceRuntime
from services.status.bootstrap import StatusService
from spn.cli.client import SpnClient
from tests.fuzz import EXAMPLES, FUZZ, bodies
from tests.integration.reconcile import dead_letters
from tests.integration.test_alerts_service import (  # noqa: F401 (fixtures)
    alerts_service,
    alerts_settings,
    smtp_port,
)
from tests.integration.test_status_service import (
    adopted,
    approved_plan,
    outcomes,
    publish,
    report,
    until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
SERVICES = ("plans", "status", "rollup", "alerts")
ORGANIZATIONS = ("oak-school", "river-lea", "state-sea", "elm-school", "nobody")
CONTRACTS = [c for c in versioned_contracts() if issubclass(c, Command) and c.SUBJECT]


def subject_of(contract: type[Command], namespace: str, parameter: str) -> str:
    kind = getattr(contract, "SUBJECT_PARAMETERS", ())
    return subject(namespace, f"{contract.SUBJECT}.{parameter}" if kind else contract.SUBJECT)


def parameters(contract: type[Command]) -> hs.SearchStrategy[str]:
    kind = getattr(contract, "SUBJECT_PARAMETERS", ())
    return hs.sampled_from(SERVICES if kind == ("service",) else ORGANIZATIONS)


def last_event(conn: psycopg.Connection, schema: str, service: str) -> int:
    table = sql.Identifier(schema, f"{service}_events")
    query = sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(table)
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


async def test_every_request_subject_answers_every_payload_with_a_structured_reply(
    client: SpnClient, plans_service: PlansService, status_service: StatusService,
    rollup_service: RollupService, alerts_service: AlertsService,  # noqa: F811
    nats_url: str, namespace: str, database_url: str, db_schema: str,
):  # fmt: skip
    await approved_plan(client)
    assert await until(lambda: adopted(client))
    loop = asyncio.get_running_loop()
    nc = await nats.connect(nats_url)
    conn = psycopg.connect(database_url, connect_timeout=10, autocommit=True)
    services: list[ServiceRuntime] = [plans_service, status_service, rollup_service,
                                      alerts_service]  # fmt: skip
    tried: dict[str, int] = {}

    async def ask(target: str, body: bytes) -> bytes:
        return (await nc.request(target, body, timeout=15)).data

    def fuzz(contract: type[Command]) -> None:
        @FUZZ
        @given(body=bodies(contract), parameter=parameters(contract))
        def one(body: bytes, parameter: str) -> None:
            target = subject_of(contract, namespace, parameter)
            plans = target.split(".")[2] == "plans"  # the plans store has no other writer
            before = last_event(conn, db_schema, "plans") if plans else 0
            answer = asyncio.run_coroutine_threadsafe(ask(target, body), loop).result(20)
            reply = Reply.model_validate_json(answer)  # a reply, and a structured one
            if not reply.ok:
                assert reply.error is not None and reply.error.code != "internal_error", (
                    target, body[:300], reply.error)  # fmt: skip
                if plans:
                    assert last_event(conn, db_schema, "plans") == before, (
                        "a refused plans command wrote events", target, body[:300])  # fmt: skip
            tried[contract.SCHEMA_NAME] = tried.get(contract.SCHEMA_NAME, 0) + 1

        one()

    took: dict[str, float] = {}
    try:
        for contract in CONTRACTS:
            started = time.monotonic()
            await asyncio.to_thread(fuzz, contract)
            took[contract.SCHEMA_NAME] = time.monotonic() - started
    finally:
        await nc.close()
        conn.close()
    assert all(tried.get(c.SCHEMA_NAME, 0) >= min(EXAMPLES, 100) for c in CONTRACTS), tried
    slowest = sorted(took.items(), key=lambda kv: -kv[1])[:5]
    print("slowest contracts:", ", ".join(f"{name} {s:.1f}s" for name, s in slowest))
    for service in services:  # and every service is still healthy
        checks = await service.health()
        assert all(v == "ok" for v in checks.values()), (service.name, checks)


async def test_the_inbox_takes_any_message_without_a_crash(
    client: SpnClient, status_service: StatusService, nats_url: str, namespace: str,
):  # fmt: skip
    await approved_plan(client)
    assert await until(lambda: adopted(client))
    loop = asyncio.get_running_loop()
    sent: list[bytes] = []

    def fuzz() -> None:
        @FUZZ
        @given(body=bodies(st.ActionStatusReported), inbox=hs.sampled_from(ORGANIZATIONS))
        def one(body: bytes, inbox: str) -> None:
            asyncio.run_coroutine_threadsafe(
                publish(nats_url, namespace, [body], msg_ids=False, organization=inbox), loop
            ).result(20)  # fmt: skip
            sent.append(body)

        one()

    await asyncio.to_thread(fuzz)
    # after all of it, a valid report is still taken: nothing is stuck behind the fuzz
    last = report("after-the-fuzz", "1.1.1.1", "2026-10", "in_progress")
    await publish(nats_url, namespace, [last])

    async def recorded() -> bool:
        return (await outcomes(client, "after-the-fuzz"))["after-the-fuzz"] == "recorded"

    assert await until(recorded, 60)
    assert len(sent) >= min(EXAMPLES, 100)
    letters = await dead_letters(nats_url, namespace)
    crashes = [d for d in letters if d["reason"] == "processing_failed"]
    assert crashes == [], crashes[:3]
    ids = [json.loads(b).get("report_id") for b in sent if _is_report_like(b)]
    known = sorted({i for i in ids if isinstance(i, str) and 0 < len(i) <= 200
                    and "\x00" not in i})[:5000]  # fmt: skip
    found = await outcomes(client, *known) if known else {}
    assert "pending" not in set(found.values()) or _dead_lettered(found, letters)
    checks = await status_service.health()
    assert all(v == "ok" for v in checks.values()), checks


def _is_report_like(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


def _dead_lettered(found: dict[str, str], letters: list[dict]) -> bool:
    """Every report id without an outcome is in a dead letter (it broke its contract)."""
    lettered = {d.get("report_id") for d in letters}
    return all(r in lettered for r, outcome in found.items() if outcome == "pending")

"""Hostile requests on every command and query subject of the running services: deeply
nested JSON, a body that is no JSON, a payload near the server's limit. Each gets a
structured error reply at once (never no reply, never a crash), and the service keeps
answering."""

from __future__ import annotations

import asyncio
import json

import nats
import nats.errors
import pytest

from contracts.asyncapi import subject_of
from contracts.base import Command
from contracts.export import versioned_contracts
from contracts.organizations import Organization
from contracts.plan_commands import ImportPlan, ListOrganizations, ListPlans, RegisterOrganization
from contracts.replies import Reply
from contracts.subjects import subject
from spn.cli.client import SpnClient
from tests.factories import organization, oversized_plan
from tests.integration.test_alerts_service import (  # noqa: F401 (fixtures)
    alerts_service,
    alerts_settings,
    smtp_port,
)
from tests.integration.test_plans_service import register_network

COMMANDS = [c for c in versioned_contracts() if issubclass(c, Command)]
NESTED = b'{"plan": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"


def subjects(namespace: str) -> list[str]:
    found = []
    for command in COMMANDS:
        relative = subject_of(command) or command.SUBJECT
        if getattr(command, "SUBJECT_PARAMETERS", ()) == ("service",):
            found += [subject(namespace, f"{command.SUBJECT}.{s}")
                      for s in ("plans", "status", "rollup", "alerts")]  # fmt: skip
        elif getattr(command, "SUBJECT_PARAMETERS", ()) == ("organization",):
            found.append(subject(namespace, f"{command.SUBJECT}.oak-school"))
        else:
            found.append(subject(namespace, relative))
    return found


@pytest.mark.usefixtures("plans_service", "status_service", "rollup_service", "alerts_service")
async def test_every_subject_answers_a_hostile_body_with_a_structured_error(
    client: SpnClient, nats_url: str, namespace: str
):  # fmt: skip
    nc = await nats.connect(nats_url)
    try:
        bodies = [NESTED, b"\xff\xfe not json", b"[]", b'{"schema_version": 1, "x": [' +
                  b"1," * 400_000 + b"1]}"]  # the last near the server's 1 MB  # fmt: skip
        for target in subjects(namespace):
            for body in bodies:
                try:
                    answer = await nc.request(target, body, timeout=10)
                except nats.errors.TimeoutError:
                    pytest.fail(f"no reply on {target} to {body[:30]!r}")
                reply = json.loads(answer.data)
                assert reply["ok"] is False, (target, reply)
                assert reply["error"]["code"] == "validation_error", (target, reply["error"])
    finally:
        await nc.close()
    assert (await client.request(ListOrganizations()))["organizations"] == []  # still answering


async def test_an_oversized_plan_is_refused_clearly_while_another_write_proceeds(
    client: SpnClient, nats_url: str, namespace: str
):
    await register_network(client)
    big = oversized_plan("oak-school")
    actions = sum(len(m["actions"]) for area in big["priority_areas"]
                  for s in area["strategies"] for m in s["milestones"])  # fmt: skip
    assert actions == 1280
    body = json.dumps({"plan": big, "by": "Pat"}).encode()
    assert 100_000 < len(body) < 1_000_000  # within NATS's payload limit: the service decides
    other = organization("elm-school", "SCHOOL", "river-lea")
    nc = await nats.connect(nats_url)
    try:
        refused, registered = await asyncio.gather(
            nc.request(subject(namespace, f"{ImportPlan.SUBJECT}.oak-school"), body, timeout=10),
            client.request(RegisterOrganization(organization=Organization(**other))),
        )  # fmt: skip
    finally:
        await nc.close()
    reply = Reply.model_validate_json(refused.data)
    assert not reply.ok and reply.error is not None
    assert reply.error.code == "validation_error"
    assert "at most 1,000 actions; this one has 1,280" in reply.error.message
    assert registered  # the other client's write, answered meanwhile
    plans = await client.request(ListPlans(organization="oak-school"))
    assert plans["plans"] == []  # nothing of the refused plan was written

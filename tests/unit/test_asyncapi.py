"""The AsyncAPI document: fresh, valid by the official AsyncAPI 3.0.0 JSON Schema, and true to
the code (subjects, reply types, headers)."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, get_type_hints
from uuid import uuid4

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from prometheus_client import CollectorRegistry
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from contracts import asyncapi
from contracts.base import Versioned
from contracts.export import SCHEMA_BASE_URI, SCHEMA_DIR, versioned_contracts
from contracts.plan_commands import (
    Command,
    CommandResult,
    GetPlan,
    ImportPlan,
    PlanList,
    PlanSummary,
)
from contracts.plan_events import IntegrationEvent, PlanSubmitted
from contracts.replies import ErrorInfo, Reply
from contracts.status import ActionStatusReported, DeadLetter, inbox_subject
from services.plans.endpoints import PlansEndpoints
from services.rollup.endpoints import RollupEndpoints
from services.shared.dead_letters import DeadLetters
from services.shared.metrics import ServiceMetrics
from services.shared.relay import Relay
from services.status.endpoints import StatusEndpoints

ASYNCAPI_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "asyncapi-3.0.0.schema.json"
COMMANDS = [c for c in versioned_contracts() if issubclass(c, Command)]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(asyncapi.ASYNCAPI_PATH.read_text())


def message_of(document: dict[str, Any], contract: type[Versioned]) -> dict[str, Any]:
    return document["components"]["messages"][contract.SCHEMA_NAME]


def refs(node: Any) -> list[str]:
    """Every ``$ref`` in a document."""
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_committed_asyncapi_document_is_current():
    """Fails when a contract changed but `make schemas` was not run."""
    assert asyncapi.ASYNCAPI_PATH.read_text() == asyncapi.render(), "run `make schemas`"


def test_the_document_is_valid_asyncapi_3(document):
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    assert refs(schema) and all(r.startswith("#") for r in refs(schema) if ".avsc" not in r)
    errors = sorted(Draft7Validator(schema).iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_every_reference_resolves(document):
    for target in refs(document):
        if target.startswith("#/"):
            node: Any = document
            for part in target[2:].split("/"):
                node = node[part]
        else:
            assert (asyncapi.ASYNCAPI_PATH.parent / target).is_file(), target


def test_every_subject_has_its_channel(document):
    addresses = {c["address"] for c in document["channels"].values()}
    with_subject = [c for c in versioned_contracts() if asyncapi.subject_of(c)]
    assert {asyncapi.address(c) for c in with_subject} <= addresses
    assert {c.SCHEMA_NAME for c in with_subject} <= document["operations"].keys()
    for channel in document["channels"].values():
        named = re.findall(r"\{(\w+)\}", channel["address"] or "")
        assert named == list(channel.get("parameters", {})), channel["address"]


def test_parameterized_subjects_are_the_ones_the_code_uses(document):
    no_stream: Any = None  # only the subject is asked for
    metrics = ServiceMetrics(CollectorRegistry(), "{service}")
    dead_letters = DeadLetters(no_stream, namespace="spn", metrics=metrics, max_payload=0)
    assert document["channels"]["action-status-reported"]["address"] == inbox_subject(
        "spn", "{organization}"
    )
    assert document["channels"]["dead-letter"]["address"] == dead_letters.subject("{reason}")
    assert asyncapi.address(ActionStatusReported) == "spn.inbox.status.{organization}"
    assert asyncapi.address(DeadLetter) == "spn.dlq.{service}.{reason}"


def test_every_command_answers_its_own_result(document):
    for command in COMMANDS:
        assert "SCHEMA_NAME" in vars(command.RESULT), command
        reply = document["components"]["messages"][f"{command.SCHEMA_NAME}-reply"]
        result_file = f"schemas/{command.RESULT.SCHEMA_NAME}.v1.json"
        assert refs(reply["payload"]) == ["schemas/reply.v1.json", result_file]
        assert document["operations"][command.SCHEMA_NAME]["reply"]


@pytest.mark.parametrize("endpoints", [PlansEndpoints, StatusEndpoints, RollupEndpoints])
def test_results_are_what_the_endpoints_return(endpoints):
    """A command's RESULT is the return type of the endpoint named by its subject."""
    service = endpoints.__module__.split(".")[1]
    served = [c for c in COMMANDS if asyncapi.service_of(c) == service]
    assert served
    for command in served:
        method = getattr(endpoints, command.SUBJECT.rsplit(".", 1)[1])
        assert get_type_hints(method)["return"] is command.RESULT, command


def reply_validator(document: dict[str, Any], command: type[Command]) -> Draft202012Validator:
    """The command's reply schema, its file references resolved from contracts/schemas."""
    resources = [
        (schema["$id"], DRAFT202012.create_resource(schema))
        for schema in (json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json"))
    ]
    payload = document["components"]["messages"][f"{command.SCHEMA_NAME}-reply"]["payload"]
    assert payload["schemaFormat"] == asyncapi.PAYLOAD_FORMAT
    schema = {"$id": f"{SCHEMA_BASE_URI}../asyncapi.yaml", **payload["schema"]}
    return Draft202012Validator(schema, registry=Registry().with_resources(resources))


def test_a_reply_is_typed_by_its_command(document):
    result = CommandResult(id=uuid4(), key="a-school/2026-27", result="drafted", changed=True)
    answered = Reply(ok=True, result=result.to_jsonable()).to_jsonable()
    refused = Reply(ok=False, error=ErrorInfo(code="plan_not_found", message="no")).to_jsonable()
    import_plan = reply_validator(document, ImportPlan)
    get_plan = reply_validator(document, GetPlan)
    assert import_plan.is_valid(answered) and import_plan.is_valid(refused)
    assert not get_plan.is_valid(answered)  # get-plan answers a plan-detail
    summary = PlanSummary(id=uuid4(), key="a/2026-27", organization="a-school",
                          plan_year="2026-27", status="draft", version=1)  # fmt: skip
    listed = Reply(ok=True, result=PlanList(plans=[summary]).to_jsonable()).to_jsonable()
    assert not import_plan.is_valid(listed)


def test_event_headers_are_the_ones_the_relay_sets(document):
    event = PlanSubmitted(
        event_id="x:2", version=2, occurred_at=datetime(2026, 10, 1, tzinfo=UTC),
        plan_id=uuid4(), key="a-school/2026-27", organization="a-school", plan_year="2026-27",
        by="Pat",
    )  # fmt: skip
    app: Any = SimpleNamespace(name="plans")
    unused: Any = None  # the relay only builds the message here
    relay = Relay(app=app, translate=unused, nc=unused, js=unused, namespace="spn", tracking=unused,
                  metrics=ServiceMetrics(CollectorRegistry(), "plans"))  # fmt: skip
    outgoing = relay._outgoing(41, event)
    message = message_of(document, PlanSubmitted)
    assert outgoing.subject == document["channels"]["plan-submitted"]["address"]
    assert outgoing.headers["Spn-Schema"] == "plan-submitted.v1"
    Draft7Validator(message["headers"]).validate(outgoing.headers)
    assert outgoing.headers["Spn-Previous"] == "0"
    relay._mark = "1200.7"  # a refill's
    refilled = relay._outgoing(42, event).headers
    Draft7Validator(message["headers"]).validate(refilled)
    assert (refilled["Nats-Msg-Id"], refilled["Spn-Previous"]) == ("plans:42~1200.7", "41")
    assert not Draft7Validator(message["headers"]).is_valid({"Nats-Msg-Id": "plans:41"})
    assert not Draft7Validator(message["headers"]).is_valid(
        {**refilled, "Nats-Msg-Id": "status:42"})


def test_every_event_documents_its_headers(document):
    for event in (c for c in versioned_contracts() if issubclass(c, IntegrationEvent)):
        headers = message_of(document, event)["headers"]
        assert set(headers["required"]) == {"Spn-Schema", "Nats-Msg-Id", "Spn-Previous"}, event
        assert headers["properties"]["Spn-Schema"]["const"] == f"{event.SCHEMA_NAME}.v1"

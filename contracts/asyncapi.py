"""The AsyncAPI 3.0.0 document of every subject, generated from the contracts into
``contracts/asyncapi.yaml``. Payloads reference the JSON Schemas in ``contracts/schemas/``."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from contracts.assessments import RecordAssessment
from contracts.audit import GetCheckpoint, ProvePlan, VerifyLog
from contracts.base import Command, Versioned
from contracts.export import file_name, versioned_contracts
from contracts.plan_commands import ApprovePlan, ClosePlan, ImportPlan, ReturnPlan, SubmitPlan
from contracts.plan_events import IntegrationEvent
from contracts.rebuild import RebuildReadModels
from contracts.replies import Reply
from contracts.rollup import PerformanceMeasureReported, ProvideSupport
from contracts.status import (
    ActionStatusReported,
    DeadLetter,
    dead_letter_stream,
    inbox_stream,
)
from contracts.subjects import DEFAULT_NAMESPACE, PREVIOUS_HEADER, events_stream

ASYNCAPI_PATH = Path(__file__).parent / "asyncapi.yaml"
PAYLOAD_FORMAT = "application/schema+json;version=draft-2020-12"
NATS_BINDING_VERSION = "0.1.0"

PARAMETERS: dict[type[Versioned], dict[str, dict[str, Any]]] = {
    ActionStatusReported: {
        "organization": {
            "description": "Code of the reporting organization (the plan's owner)",
            "location": "$message.payload#/reporter/organization",
            "examples": ["lakeview-high"],
        }
    },
    DeadLetter: {
        "service": {
            "description": DeadLetter.model_fields["service"].description,
            "location": "$message.payload#/service",
            "examples": ["status", "rollup"],
        },
        "reason": {
            "description": DeadLetter.model_fields["reason"].description,
            "location": "$message.payload#/reason",
            "examples": ["invalid_payload", "invalid_event"],
        },
    },
}
ASKED = {"service": {
    "description": "The service asked: plans, status, rollup or alerts; each answers for "
    "its own log, in its own queue group",
    "examples": ["status"],
}}  # fmt: skip
PARAMETERS |= {contract: ASKED for contract in (VerifyLog, ProvePlan, GetCheckpoint,
                                                RebuildReadModels)}
ACTING = {"organization": {
    "description": "The organization acting, as itself: only its credential (and the "
    "operator's) may publish here; the service refuses a body that names another",
    "examples": ["lakeview-high"],
}}  # fmt: skip
PARAMETERS |= {contract: ACTING for contract in (ImportPlan, SubmitPlan, ApprovePlan,
                                                 ReturnPlan, ClosePlan, ProvideSupport,
                                                 PerformanceMeasureReported,
                                                 RecordAssessment)}  # fmt: skip
"""What the SUBJECT_PARAMETERS of a contract (appended to its SUBJECT) stand for."""

DESCRIPTION = f"""\
Every NATS subject of SPN: commands and queries (request/reply), the status inbox, the
integration events and the dead letters. Payloads are JSON, described by the JSON Schemas
(draft 2020-12) in `contracts/schemas/`.

Addresses are shown in the default namespace `{DEFAULT_NAMESPACE}`; a deployment with
`SPN_NAMESPACE=x` uses `x.` in their place (and `X_EVENTS` etc. as stream names).

- Commands and queries answer, on the requester's reply subject, the `reply.v1` envelope:
  `ok` with the command's own `result`, or not `ok` with an `error`.
- A query an organization may ask is answered on its subject and on
  `<subject>.<organization>`: the bare subject is the operator's (everything), the other
  the organization's own (only its credential may publish there), answered with what it
  and the organizations beneath it may see; about anything else the answer is an error
  `not_authorized`. An organization's credential may publish no other query.
- Events carry the header `Spn-Schema: <schema name>.v<version>` (pick a decoder without
  reading the body), `Nats-Msg-Id: <service>:<notification id>` (JetStream drops a repeat
  within the stream's duplicate window; consumers take each event once, in its service's
  order) and `Spn-Previous: <notification id>`, the service's event before it.
"""


class _Dumper(yaml.SafeDumper):
    """YAML without anchors and aliases: every part written out where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Strings of several lines as literal blocks."""
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    )


_Dumper.add_representer(str, _text)


def subject_of(contract: type[Versioned]) -> str | None:
    """Its SUBJECT (relative to the namespace), if it travels on one."""
    return getattr(contract, "SUBJECT", None)


def service_of(contract: type[Versioned]) -> str | None:
    """The service that answers, takes or publishes it: ``cmd.plans.x`` -> ``plans``;
    None for a question every service answers (its subject ends with the service)."""
    if getattr(contract, "SUBJECT_PARAMETERS", ()) == ("service",):
        return None
    parts = (subject_of(contract) or "").split(".")
    return parts[1] if len(parts) > 1 else None


def address(contract: type[Versioned]) -> str:
    """The subject in the default namespace, parameters as ``{name}``."""
    tail = "".join(f".{{{name}}}" for name in getattr(contract, "SUBJECT_PARAMETERS", ()))
    return f"{DEFAULT_NAMESPACE}.{subject_of(contract)}{tail}"


def docstring(contract: type[Versioned]) -> str | None:
    """The contract's own docstring (not an inherited one)."""
    doc = vars(contract).get("__doc__")
    return inspect.cleandoc(doc) if doc else None


def ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


def schema_file(contract: type[Versioned]) -> dict[str, str]:
    return {"$ref": f"schemas/{file_name(contract)}"}


def payload(schema: dict[str, Any]) -> dict[str, Any]:
    return {"schemaFormat": PAYLOAD_FORMAT, "schema": schema}


def reply_schema(command: type[Command]) -> dict[str, Any]:
    """The Reply envelope whose ``result`` is the command's RESULT."""
    if "RESULT" not in dir(command):
        raise TypeError(f"{command.__name__} needs RESULT, the contract of its reply's result")
    result = {"anyOf": [schema_file(command.RESULT), {"type": "null"}]}
    return {"allOf": [schema_file(Reply), {"properties": {"result": result}}]}


def headers(contract: type[Versioned]) -> dict[str, Any] | None:
    """The NATS headers SPN sets on the message, if any."""
    if issubclass(contract, IntegrationEvent):
        service = service_of(contract)
        schema_id = f"{contract.SCHEMA_NAME}.v{contract.model_fields['schema_version'].default}"
        return {
            "type": "object",
            "required": ["Nats-Msg-Id", "Spn-Schema", PREVIOUS_HEADER],
            "properties": {
                "Spn-Schema": {
                    "type": "string",
                    "const": schema_id,
                    "description": "The payload's contract, <schema name>.v<version>",
                },
                "Nats-Msg-Id": {
                    "type": "string",
                    "pattern": f"^{service}:[0-9]+(~[0-9]+(\\.[0-9]+)?)?$",
                    "description": "<service>:<notification id>, the event's position in "
                    "the publishing service's log (a consumer takes each once, and refuses "
                    "one whose service is not its subject's). After the relay refilled a "
                    "stream that lost events: <service>:<notification id>~<mark>, so "
                    "JetStream does not drop the refill as the purged messages' duplicates",
                },
                PREVIOUS_HEADER: {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "The notification id of the event the service published "
                    "before this one (0: none): a consumer that has not taken that one yet "
                    "waits for the refill that brings it",
                },
            },
        }
    if contract is ActionStatusReported:
        return {
            "type": "object",
            "properties": {
                "Nats-Msg-Id": {
                    "type": "string",
                    "description": "Optional: a random id per message (the same for each "
                    "retry of it), never the report id: the inbox is every organization's, "
                    "and another could take that id up first for the stream's duplicate "
                    "window, dropping the report. The status service records a report id "
                    "once per plan, and a sender's ids are its own",
                }
            },
        }
    if contract is DeadLetter:
        return {
            "type": "object",
            "required": ["Nats-Msg-Id"],
            "properties": {
                "Nats-Msg-Id": {
                    "type": "string",
                    "description": "<service>:<source stream>:<source sequence>: a retry "
                    "stores the letter once",
                }
            },
        }
    return None


def message(contract: type[Versioned]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": contract.__name__,
        "title": contract.SCHEMA_NAME,
        "contentType": "application/json",
    }
    if doc := docstring(contract):
        found["description"] = doc
    if header_schema := headers(contract):
        found["headers"] = header_schema
    found["payload"] = payload(schema_file(contract))
    return found


def channel_description(contract: type[Versioned]) -> str:
    if issubclass(contract, Command):
        answered = (f"the {service_of(contract)} service" if service_of(contract)
                    else "the service the subject names, for its own log")  # fmt: skip
        scoped = (f" An organization asks it on `{address(contract)}.{{organization}}` and is "
                  f"answered in its scope (by the {contract.SCOPE}): what it and the "
                  "organizations beneath it may see; the bare subject is the operator's."
                  if contract.SCOPE else "")  # fmt: skip
        return f"Request/reply (core NATS), answered by {answered}.{scoped}"
    if contract is ActionStatusReported:
        return (
            f"Stored in the JetStream stream {inbox_stream(DEFAULT_NAMESPACE)}: the status "
            "service takes the reports even while it is down. Publish to the stream and "
            "wait for its PubAck."
        )
    if contract is DeadLetter:
        return (
            f"Stored in the JetStream stream {dead_letter_stream(DEFAULT_NAMESPACE)}: a "
            "message a service can never accept, with the reason."
        )
    return f"Stored in the JetStream stream {events_stream(DEFAULT_NAMESPACE)}."


def operation(contract: type[Versioned], name: str) -> dict[str, Any]:
    service = service_of(contract)
    received = issubclass(contract, Command) or contract is ActionStatusReported
    found: dict[str, Any] = {
        "action": "receive" if received else "send",
        "channel": ref("channels", name),
        "messages": [ref("channels", name, "messages", name)],
    }
    if service:
        found["tags"] = [{"name": service}]
    if issubclass(contract, Command):
        if service:
            found["bindings"] = {"nats": {"queue": service,
                                          "bindingVersion": NATS_BINDING_VERSION}}  # fmt: skip
        found["reply"] = {
            "channel": ref("channels", f"{name}-reply"),
            "messages": [ref("channels", f"{name}-reply", "messages", f"{name}-reply")],
        }
    return found


def document() -> dict[str, Any]:
    """The AsyncAPI document, as plain data."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for contract in sorted(versioned_contracts(), key=lambda c: subject_of(c) or ""):
        if subject_of(contract) is None:
            continue
        name = contract.SCHEMA_NAME
        channels[name] = {
            "address": address(contract),
            "description": channel_description(contract),
            "messages": {name: ref("components", "messages", name)},
        }
        if contract in PARAMETERS:
            channels[name]["parameters"] = PARAMETERS[contract]
        messages[name] = message(contract)
        operations[name] = operation(contract, name)
        if issubclass(contract, Command):
            reply = f"{name}-reply"
            reply_payload = payload(reply_schema(contract))
            channels[reply] = {
                "address": None,
                "description": "The requester's reply subject (a NATS inbox).",
                "messages": {reply: ref("components", "messages", reply)},
            }
            messages[reply] = {
                "name": f"{contract.__name__}Reply",
                "title": reply,
                "summary": f"The reply envelope; its result is {contract.RESULT.SCHEMA_NAME}.",
                "contentType": "application/json",
                "payload": reply_payload,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "SPN, the Strategic Performance Network",
            "version": version("spn"),
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The NATS server `spn up` starts (SPN_NATS_URL)",
            }
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    """The document as YAML."""
    header = "# Generated by `spn contracts export` from contracts/; do not edit.\n"
    return header + yaml.dump(document(), Dumper=_Dumper, sort_keys=False, width=100)


def write(path: Path = ASYNCAPI_PATH) -> Path:
    path.write_text(render())
    return path

"""Each service's NATS user may touch only its own consumers: the names it is granted are
the ones its consumers are made with."""

from __future__ import annotations

from pathlib import Path

from contracts.subjects import DURABLES, rebuild_consumer
from spn.stack.credentials import service_permissions

SERVICES = Path(__file__).parents[2] / "services"


def test_every_durable_is_made_by_its_service_under_that_name():
    for durable, (service, _) in DURABLES.items():
        source = (SERVICES / service / "consumers.py").read_text()
        assert f'"{durable}"' in source, (service, durable)


def test_a_service_may_fetch_and_acknowledge_only_its_own_consumers():
    rollup = service_permissions("spn", "rollup")
    publish = rollup["publish"]["allow"]  # type: ignore[index]
    assert "$JS.API.CONSUMER.MSG.NEXT.SPN_EVENTS.rollup" in publish
    assert f"$JS.API.CONSUMER.MSG.NEXT.SPN_EVENTS.{rebuild_consumer('rollup')}" in publish
    assert "$JS.ACK.SPN_EVENTS.rollup.>" in publish
    assert not any("status-inbox" in p or ("SPN_INBOX" in p and "INFO" not in p)
                   for p in publish), publish  # fmt: skip
    assert not any(p.endswith((".>", ".*")) and ".CONSUMER." in p and "CREATE" not in p
                   for p in publish), publish  # no wildcard over consumer names  # fmt: skip
    status = service_permissions("spn", "status")["publish"]["allow"]  # type: ignore[index]
    assert "$JS.API.STREAM.CREATE.SPN_INBOX" in status
    assert "$JS.ACK.SPN_INBOX.status-inbox.>" in status


def test_a_service_answers_an_organizations_questions_of_it_too():
    receive = service_permissions("spn", "status")["subscribe"]["allow"]  # type: ignore[index]
    assert {"spn.qry.audit.prove.status", "spn.qry.audit.prove.status.*",
            "spn.qry.audit.checkpoint.status"} <= set(receive)  # fmt: skip
    assert "spn.qry.audit.checkpoint.status.*" not in receive  # the operator's only

"""Tamper evidence on a real PostgreSQL: a plan's events in the plans service's log, an
inclusion proof checked by a few lines of independent code (RFC 9162 and Ed25519, not the
project's verifier), and rows edited, deleted and inserted behind the service's back,
each named by the verification."""

from __future__ import annotations

import base64
import hashlib
import json
from uuid import uuid4

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql

from contracts import audit as au
from contracts import plan_commands as cmd
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from tests.factories import plan_document
from tests.integration.test_plans_service import import_request, register_network

KEY = "oak-school/2026-27"


def independent_root(event: dict, index: int, size: int, path: list[str]) -> bytes:
    """RFC 9162 2.1.3.2, written from the RFC: the root an event's proof gives."""
    canonical = json.dumps({k: event[k] for k in ("originator_id", "originator_version",
                                                  "topic", "state")} | {"id": event[
                                                      "notification_id"]},
                           sort_keys=True, separators=(",", ":")).encode()  # fmt: skip
    r = hashlib.sha256(b"\x00" + canonical).digest()
    fn, sn = index, size - 1
    for p in (base64.b64decode(x) for x in path):
        assert sn > 0
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r


def checkpoint_root(note: str, verifier: str) -> tuple[int, bytes]:
    """The tree size and root of a signed note, once its Ed25519 signature checks."""
    text, _, signatures = note.partition("\n\n")
    name, _, encoded = verifier.split("+", 2)
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded)[1:])
    signature = base64.b64decode(signatures.split(" ")[2])[4:]
    public.verify(signature, (text + "\n").encode())  # raises if it does not verify
    origin, size, root = text.split("\n")
    assert origin == name
    return int(size), base64.b64decode(root)


@pytest.fixture
async def approved(client: SpnClient, plans_service) -> SpnClient:
    await register_network(client)
    await client.request(import_request(plan_document("oak-school")))
    await client.request(cmd.SubmitPlan(plan=KEY, organization="oak-school", by="Pat"))
    await client.request(cmd.ApprovePlan(plan=KEY, organization="river-lea", by="Sam"))
    return client


async def test_a_plan_s_proofs_check_with_independent_code_and_fail_for_a_changed_event(approved):
    proofs = await approved.request(au.ProvePlan(plan=KEY), "plans")
    assert [p["event"]["originator_version"] for p in proofs["proofs"]] == [1, 2, 3]
    size, root = checkpoint_root(proofs["checkpoint"], proofs["verifier_key"])
    for proof in proofs["proofs"]:
        assert proof["tree_size"] == size
        assert independent_root(proof["event"], proof["leaf_index"], size, proof["path"]) == root
    changed = dict(proofs["proofs"][2]["event"])
    state = json.loads(base64.b64decode(changed["state"]))
    state["organization"] = "elm-school"  # approved by someone else
    changed["state"] = base64.b64encode(json.dumps(state).encode()).decode()
    third = proofs["proofs"][2]
    assert independent_root(changed, third["leaf_index"], size, third["path"]) != root


def tamper(database_url: str, db_schema: str, statement: str, *params) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(db_schema, "plans_events")), params)


async def verified(client: SpnClient, checkpoint: str | None = None) -> dict:
    return await client.request(au.VerifyLog(checkpoint=checkpoint), "plans")


async def test_an_edited_a_deleted_and_an_inserted_row_are_each_named(
    approved, database_url, db_schema
):
    kept = await approved.request(au.GetCheckpoint(), "plans")  # exported, kept outside
    clean = await verified(approved, kept["note"])
    assert clean["intact"] and clean["given"] == {"tree_size": kept["tree_size"],
                                                  "signed": True, "matches": True}  # fmt: skip
    proofs = (await approved.request(au.ProvePlan(plan=KEY), "plans"))["proofs"]
    approval, submission = proofs[2]["event"], proofs[1]["event"]

    tamper(database_url, db_schema, "UPDATE {} SET state = convert_to(replace(convert_from("
           "state, 'UTF8'), 'river-lea', 'elm-school'), 'UTF8') WHERE notification_id = %s",
           approval["notification_id"])  # fmt: skip
    edited = await verified(approved)
    assert not edited["intact"]
    assert [(r["notification_id"], r["originator_version"]) for r in edited["altered"]] == [
        (approval["notification_id"], 3)]  # fmt: skip

    tamper(database_url, db_schema, "DELETE FROM {} WHERE notification_id = %s",
           submission["notification_id"])  # fmt: skip
    deleted = await verified(approved)
    assert [r["notification_id"] for r in deleted["removed"]] == [submission["notification_id"]]

    tamper(database_url, db_schema, "INSERT INTO {} (originator_id, originator_version, topic, "
           "state, notification_id) VALUES (%s, 1, %s, %s, 0)", uuid4(),
           approval["topic"], b"{}")  # fmt: skip
    inserted = await verified(approved)
    assert [r["notification_id"] for r in inserted["inserted"]] == [0]
    assert inserted["given"] is None and inserted["latest"]["signed"]


async def test_leaves_rewritten_to_match_an_edit_break_the_signed_checkpoint(
    approved, database_url, db_schema
):
    kept = await approved.request(au.GetCheckpoint(), "plans")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {} SET leaf_hash = %s WHERE leaf_index = 0").format(
            sql.Identifier(db_schema, "plans_audit_leaves")), (hashlib.sha256(b"x").digest(),))
    found = await verified(approved, kept["note"])
    assert not found["intact"]
    assert found["given"]["signed"] and not found["given"]["matches"]
    assert found["altered"]  # the first event no longer matches its (rewritten) leaf
    forged = kept["note"].replace(kept["note"].split("\n")[2], base64.b64encode(
        b"\x00" * 32).decode())  # fmt: skip
    assert not (await verified(approved, forged))["given"]["signed"]


async def test_after_a_restart_a_rewritten_row_and_leaf_are_never_signed(
    plans_settings, database_url, db_schema, nats_url, namespace
):
    """The row and its leaf changed together behind a stopped service: the restarted one
    finds the stored leaves no longer give a signed root, signs nothing more, and verify
    names the broken checkpoint."""
    from prometheus_client import CollectorRegistry

    from services.plans.bootstrap import PlansService
    from services.shared.audit.log import leaf_of

    first = PlansService(plans_settings, CollectorRegistry())
    await first.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await register_network(client)
            kept = await client.request(au.GetCheckpoint(), "plans")
    finally:
        await first.stop()
    events, leaves = (sql.Identifier(db_schema, t) for t in ("plans_events", "plans_audit_leaves"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT notification_id, originator_id, originator_version, "
                                   "topic, state FROM {} ORDER BY notification_id LIMIT 1")
                           .format(events)).fetchone()  # fmt: skip
        assert row is not None
        changed = dict(zip(("notification_id", "originator_id", "originator_version", "topic",
                            "state"), row, strict=True))  # fmt: skip
        changed["state"] = bytes(changed["state"]).replace(b"State-Sea", b"Other Sea")
        conn.execute(sql.SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(
            events), (changed["state"], changed["notification_id"]))
        conn.execute(sql.SQL("UPDATE {} SET leaf_hash = %s WHERE notification_id = %s").format(
            leaves), (leaf_of(changed), changed["notification_id"]))
    second = PlansService(plans_settings, CollectorRegistry())
    await second.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            found = await verified(client, kept["note"])
            assert not found["intact"] and not found["altered"]  # row and leaf agree...
            assert found["failed_checkpoints"] and not found["given"]["matches"]  # not the root
            with pytest.raises(RefusedError, match="audit_error"):
                await client.request(au.GetCheckpoint(), "plans")
    finally:
        await second.stop()

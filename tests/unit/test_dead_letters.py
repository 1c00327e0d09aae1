"""A dead letter always fits the server's max payload, and says when it was cut."""

from __future__ import annotations

import json

from services.shared.dead_letters import Source, letter_for

LIMIT = 1024 * 1024  # nats-server's default max payload


def test_a_binary_body_far_over_the_limit_is_cut_to_fit():
    body = bytes(range(256)) * 1600 * 4  # 1.6 MB of bytes that are not UTF-8
    letter = letter_for("status", "invalid_payload", "not JSON",
                        Source("T_INBOX", 7, "t.inbox.status.x", body), LIMIT)  # fmt: skip
    encoded = letter.to_json()
    assert len(encoded) < LIMIT
    decoded = json.loads(encoded)
    assert decoded["payload_truncated"] is True
    assert decoded["payload_bytes"] == len(body)
    assert (decoded["source_stream"], decoded["source_sequence"]) == ("T_INBOX", 7)


def test_a_small_body_is_kept_whole():
    body = b'{"report_id": "r-1"}'
    letter = letter_for("rollup", "invalid_event", "bad", Source("T_EVENTS", 1, "t.evt.x", body),
                        LIMIT, report_id="r-1")  # fmt: skip
    assert letter.payload == body.decode()
    assert not letter.payload_truncated
    assert letter.report_id == "r-1"

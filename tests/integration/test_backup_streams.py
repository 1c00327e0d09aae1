"""A stream backed up and restored on a real NATS: every message at its own sequence (a
hole left by a deleted message kept as a hole), its headers without the publish controls,
and the events a relay published after the database dump removed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from spn.stack import backup as bk


async def test_a_stream_comes_back_at_the_same_sequences_without_what_followed_the_dump(
    nats_url: str, namespace: str, tmp_path: Path
):
    name, subjects = f"{namespace.upper()}_EVENTS", [f"{namespace}.evt.>"]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE,
                                         duplicate_window=120, allow_atomic=True))  # fmt: skip
        for n in range(1, 7):  # plans:1 .. plans:6 (one a batch of its own), then status:1
            batch = {"Nats-Batch-Id": "b1", "Nats-Batch-Sequence": "1", "Nats-Batch-Commit": "1"}
            headers = {"Nats-Msg-Id": f"plans:{n}", **(batch if n == 3 else {})}
            await js.publish(f"{namespace}.evt.plans.x", f"p{n}".encode(), stream=name,
                             headers=headers)  # fmt: skip
        await js.publish(f"{namespace}.evt.status.y", b"s1", stream=name,
                         headers={"Nats-Msg-Id": "status:1"})  # fmt: skip
        await js.publish(f"{namespace}.evt.plans.x", b"tail", stream=name)
        await js.delete_msg(name, 2)  # a hole
        await js.delete_msg(name, 8)  # and the last message deleted: the dump still ends
        assert await bk.namespace_streams(js, namespace) == [name]
        saved = await bk.dump_stream(js, name, tmp_path / f"{name}.jsonl")
        assert (saved.first_seq, saved.last_seq, saved.messages) == (1, 8, 6)
        entry = vars(saved)
        await js.delete_stream(name)

        restored = await bk.restore_stream(js, tmp_path, entry)
        assert restored == 6
        info = await js.stream_info(name)
        assert (info.state.first_seq, info.state.messages) == (1, 6)
        assert info.state.last_seq == 8  # the deleted tail too: the next message is the 9th
        assert info.config.subjects == subjects and info.config.duplicate_window == 120
        one = await js.get_msg(name, 3)  # published in an atomic batch: taken as a message
        assert one.data == b"p3" and (one.headers or {})["Nats-Msg-Id"] == "plans:3"
        assert not any(h.startswith("Nats-Batch-") for h in one.headers or {})

        # the database dump holds plans events up to 4 and status's first: 5 and 6 go
        dropped = await bk.drop_events_after_the_dump(js, name, tmp_path, entry,
                                                      {"plans": 4, "status": 1})  # fmt: skip
        assert dropped == 2
        info = await js.stream_info(name)
        assert info.state.messages == 4
        last = await js.get_last_msg(name, f"{namespace}.evt.plans.>")
        assert last.headers and last.headers["Nats-Msg-Id"] == "plans:4"  # the relay resumes
    finally:
        await nc.close()


async def test_a_stream_with_one_id_twice_and_more_than_a_window_comes_back_whole(
    nats_url: str, namespace: str, tmp_path: Path
):
    """1,200 messages (more than one window of publishes in flight), a hole among them,
    and one id stored twice (a minute apart, as a retried letter could be): all back at
    their sequences, the repeated id twice."""
    name, subjects = f"{namespace.upper()}_LETTERS", [f"{namespace}.dlq.>"]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE,
                                         duplicate_window=0.5))  # fmt: skip
        await js.publish(f"{namespace}.dlq.x", b"first", stream=name,
                         headers={"Nats-Msg-Id": "again"})  # fmt: skip
        for n in range(2, 601):
            await js.publish(f"{namespace}.dlq.x", f"m{n}".encode(), stream=name,
                             headers={"Nats-Msg-Id": f"id-{n}"})  # fmt: skip
        await asyncio.sleep(0.6)  # past the window: the same id is a second message
        ack = await js.publish(f"{namespace}.dlq.x", b"second", stream=name,
                               headers={"Nats-Msg-Id": "again"})  # fmt: skip
        assert ack.seq == 601 and not ack.duplicate
        for n in range(602, 1201):
            await js.publish(f"{namespace}.dlq.x", f"m{n}".encode(), stream=name)
        await js.delete_msg(name, 700)
        saved = await bk.dump_stream(js, name, tmp_path / f"{name}.jsonl")
        await js.delete_stream(name)

        assert await bk.restore_stream(js, tmp_path, vars(saved)) == 1199
        info = await js.stream_info(name)
        assert (info.state.messages, info.state.last_seq) == (1199, 1200)
        assert info.config.duplicate_window == 0.5
        assert (await js.get_msg(name, 1)).data == b"first"
        assert (await js.get_msg(name, 601)).data == b"second"
        assert (await js.get_msg(name, 1200)).data == b"m1200"
        with pytest.raises(NotFoundError):
            await js.get_msg(name, 700)
    finally:
        await nc.close()

"""Atomic batches on a real NATS server: stored whole and in order, or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client

from services.shared.batches import BatchRefusedError, Outgoing, publish_batch
from services.shared.streams import ensure_stream


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def stream_of(nc: Client, namespace: str) -> str:
    name = f"{namespace}_BATCHES"
    return await ensure_stream(nc.jetstream(), name, [f"{namespace}.b.>"], atomic=True)


def messages(namespace: str, numbers: range) -> list[Outgoing]:
    return [
        Outgoing(f"{namespace}.b.{n}", f"event {n}".encode(), {"Nats-Msg-Id": f"app:{n}"})
        for n in numbers
    ]


async def stored(nc: Client, stream: str) -> list[bytes]:
    js = nc.jetstream()
    state = (await js.stream_info(stream)).state
    if not state.messages:
        return []
    return [(await js.get_msg(stream, seq)).data or b""
            for seq in range(state.first_seq, state.last_seq + 1)]  # fmt: skip


async def test_a_batch_is_stored_in_order(nc: Client, namespace: str):
    stream = await stream_of(nc, namespace)
    last = await publish_batch(nc, stream, messages(namespace, range(1, 301)), timeout=5)
    assert last == 300
    assert await stored(nc, stream) == [f"event {n}".encode() for n in range(1, 301)]


async def test_a_batch_repeating_a_stored_message_is_refused_whole(nc: Client, namespace: str):
    """An earlier attempt whose acknowledgement was lost: trying it again doubles nothing."""
    stream = await stream_of(nc, namespace)
    await publish_batch(nc, stream, messages(namespace, range(1, 11)), timeout=5)
    with pytest.raises(BatchRefusedError) as refused:
        await publish_batch(nc, stream, messages(namespace, range(8, 21)), timeout=5)
    assert refused.value.duplicate
    assert len(await stored(nc, stream)) == 10  # not even 11-20


async def test_a_batch_with_a_message_lost_on_the_way_stores_nothing(
    nc: Client, namespace: str
):
    """What a reconnect does to the bytes in the socket: the server sees the gap."""
    stream = await stream_of(nc, namespace)
    batch = messages(namespace, range(1, 4))
    headers = [{**m.headers, "Nats-Batch-Id": "lost-one", "Nats-Batch-Sequence": str(n)}
               for n, m in enumerate(batch, start=1)]  # fmt: skip
    await nc.request(batch[0].subject, batch[0].body, 5, headers=headers[0])
    # message 2 never arrives
    reply = await nc.request(
        batch[2].subject, batch[2].body, 5, headers={**headers[2], "Nats-Batch-Commit": "1"}
    )
    assert b"error" in reply.data
    assert await stored(nc, stream) == []
    await publish_batch(nc, stream, batch, timeout=5)  # the whole batch again: all of it
    assert await stored(nc, stream) == [b"event 1", b"event 2", b"event 3"]

"""The shared consumer loop's batch handling, with stand-ins for NATS messages: a retry
never redoes what committed, a poison message is dead-lettered alone, nothing else is lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from eventsourcing.persistence import OperationalError
from prometheus_client import CollectorRegistry

from services.shared.consumer import PullConsumer, sequence
from services.shared.dead_letters import Source
from services.shared.metrics import ServiceMetrics


@dataclass
class FakeMessage:
    seq: int
    data: bytes = b"{}"
    subject: str = "t.evt.x"
    metadata: Any = None

    def __post_init__(self) -> None:
        self.metadata = SimpleNamespace(sequence=SimpleNamespace(stream=self.seq), stream="T")

    async def in_progress(self) -> None:
        pass


@dataclass
class Store:
    """What a service commits: effects with the tracking position, in one go."""

    position: int = 0
    effects: list[int] = field(default_factory=list)
    letters: list[tuple[str, int]] = field(default_factory=list)

    def commit(self, messages: list[Any]) -> None:
        assert sequence(messages[0]) > self.position, "a committed message came again"
        self.effects += [sequence(m) for m in messages]
        self.position = sequence(messages[-1])

    def skip(self, seq: int) -> None:
        self.position = seq

    async def publish(self, reason: str, message: str, source: Source, **_: Any) -> None:
        self.letters.append((reason, source.sequence))

    metrics = ServiceMetrics(CollectorRegistry(), "test")

    def of(self, consumer: str) -> Store:
        """The dead-letter path of one consumer: this store's."""
        return self


def consumer(store: Store) -> PullConsumer:
    found = PullConsumer(
        None, stream="T", subject="t.>", durable="d",  # type: ignore[arg-type]
        position=lambda: store.position, skip=store.skip, dead_letters=store,  # type: ignore[arg-type]
    )  # fmt: skip
    found._backoff.first = found._backoff.delay = 0.001
    return found


async def test_a_retry_after_a_partial_commit_goes_on_from_the_committed_position():
    store, calls = Store(), []

    async def process(batch: list[Any]) -> None:
        calls.append([sequence(m) for m in batch])
        if len(calls) == 1:  # commits a run, then the database goes away
            store.commit(batch[:3])
            raise OperationalError("server closed the connection")
        store.commit(batch)

    await consumer(store)._settle(process, [FakeMessage(n) for n in range(1, 7)], None)
    assert calls == [[1, 2, 3, 4, 5, 6], [4, 5, 6]]
    assert store.effects == [1, 2, 3, 4, 5, 6] and store.letters == []


async def test_a_poison_message_is_dead_lettered_alone_and_the_rest_is_taken():
    store = Store()

    async def process(batch: list[Any]) -> None:
        if any(sequence(m) == 3 for m in batch):
            raise KeyError("structure")  # a bug or a message it can never take
        store.commit(batch)

    await consumer(store)._settle(process, [FakeMessage(n) for n in range(1, 6)], None)
    assert store.effects == [1, 2, 4, 5]
    assert store.letters == [("processing_failed", 3)]
    assert store.position == 5


async def test_an_outage_is_retried_until_it_ends_and_nothing_is_dead_lettered():
    store, failures = Store(), [OperationalError("down")] * 5

    async def process(batch: list[Any]) -> None:
        if failures:
            raise failures.pop()
        store.commit(batch)

    await consumer(store)._settle(process, [FakeMessage(n) for n in range(1, 4)], None)
    assert store.effects == [1, 2, 3] and store.letters == []

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

    def skip(self, tracking: Any) -> None:
        self.position = tracking.notification_id

    async def publish(self, reason: str, message: str, source: Source, **_: Any) -> None:
        self.letters.append((reason, source.sequence))

    metrics = ServiceMetrics(CollectorRegistry(), "test")

    def of(self, consumer: str) -> Store:
        """The dead-letter path of one consumer: this store's."""
        return self


def consumer(store: Store) -> PullConsumer:
    found = PullConsumer(
        None, stream="T", subject="t.>", durable="d",  # type: ignore[arg-type]
        position=lambda name: store.position, skip=store.skip, dead_letters=store,  # type: ignore[arg-type]
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


@dataclass
class Event(FakeMessage):
    """An integration event as a relay publishes it."""

    msg_id: str = ""
    previous: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.headers = {"Nats-Msg-Id": self.msg_id}
        if self.previous is not None:
            self.headers["Spn-Previous"] = str(self.previous)

    async def ack(self) -> None:
        pass


@dataclass
class Fetched:
    messages: list[Any]

    async def fetch(self, count: int, timeout: float) -> list[Any]:
        found, self.messages = self.messages, []
        return found


async def test_an_events_consumer_takes_each_event_once_in_its_services_order():
    """Two events, the stream refilled (the same three again, the third new), one that names
    another service than its subject's, and one whose predecessor the stream lacks."""
    store, tracked, handed = Store(), {}, []

    def position(name: str) -> int:
        return tracked.get(name, 0)

    def record(tracking: Any) -> None:
        for t in [tracking, *tracking.sources]:
            assert t.notification_id > tracked.get(t.application_name, 0), t
            tracked[t.application_name] = t.notification_id

    asked: list[tuple[str, bytes]] = []
    events = events_consumer_of(store, position, record, asked)

    async def process(batch: list[Any]) -> None:
        handed.extend(m.msg_id for m in batch)
        record(events.tracking(sequence(batch[-1])))

    plans = "t.evt.plans.plan.approved"
    events._subscription = Fetched([
        Event(1, subject=plans, msg_id="plans:1", previous=0),
        Event(2, subject=plans, msg_id="plans:2", previous=1),
        Event(3, subject=plans, msg_id="plans:1~2", previous=0),
        Event(4, subject=plans, msg_id="plans:2~2", previous=1),
        Event(5, subject=plans, msg_id="status:9"),
        Event(6, subject=plans, msg_id="plans:3~2", previous=2),
        Event(7, subject=plans, msg_id="plans:5~2", previous=4),
    ])
    assert await events.take(process, wait=0.1)
    assert handed == ["plans:1", "plans:2", "plans:3~2"]
    assert store.letters == [("source_mismatch", 5)]
    assert tracked == {"T_EVENTS": 7, "T_EVENTS/plans": 3}  # past the gap, which waits
    skipped = store.metrics.registry.get_sample_value
    labels = {"service": "test", "consumer": "d"}
    assert skipped("spn_consumer_skipped_total", {**labels, "reason": "repeat"}) == 2
    assert skipped("spn_consumer_skipped_total", {**labels, "reason": "gap"}) == 1
    assert asked == [("t.ctl.relay.plans.refill", b'{"after": 3}')]  # after the last taken
    assert events.gaps == {"plans": 3}
    assert not await events.take(process, wait=0.1)  # idle, and still lacking: asked again
    assert len(asked) == 1, "not within REQUEST_EVERY"


def events_consumer_of(store: Store, position: Any, record: Any,
                       asked: list[tuple[str, bytes]]) -> PullConsumer:  # fmt: skip
    async def publish(subject: str, body: bytes) -> None:
        asked.append((subject, body))

    js = SimpleNamespace(_nc=SimpleNamespace(publish=publish))
    return PullConsumer(
        js, stream="T_EVENTS", subject="t.evt.>", durable="d",  # type: ignore[arg-type]
        position=position, skip=record, dead_letters=store,  # type: ignore[arg-type]
        events_namespace="t",
    )  # fmt: skip


async def test_a_consumer_tracked_from_before_sources_takes_the_next_event_as_it_comes():
    """An upgrade: the stream position is tracked, no service's last event yet; the next
    event names its predecessor, which the consumer took (untracked): taken, not a gap."""
    store, tracked, handed = Store(), {"T_EVENTS": 40}, []

    def record(tracking: Any) -> None:
        for t in [tracking, *tracking.sources]:
            tracked[t.application_name] = t.notification_id

    events = events_consumer_of(store, lambda name: tracked.get(name, 0), record, [])
    events._legacy = True  # as subscribe() finds it

    async def process(batch: list[Any]) -> None:
        handed.extend(m.msg_id for m in batch)
        record(events.tracking(sequence(batch[-1])))

    events._done = 40
    events._subscription = Fetched([
        Event(41, subject="t.evt.plans.plan.approved", msg_id="plans:17", previous=16)])
    assert await events.take(process, wait=0.1)
    assert handed == ["plans:17"] and tracked["T_EVENTS/plans"] == 17

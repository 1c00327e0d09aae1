"""JetStream streams shared by the services."""

from __future__ import annotations

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from contracts.subjects import events_stream, events_wildcard


class StreamConfigError(RuntimeError):
    """The NATS server cannot keep a stream the way SPN needs it."""


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    duplicate_window: float | None = None,
    atomic: bool = False,
) -> str:
    """Create the stream (file storage) or make sure it takes exactly these subjects (and,
    if given, deduplicates ``Nats-Msg-Id`` over this many seconds; with ``atomic``, takes
    atomic batches)."""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        config = StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE)
        if duplicate_window is not None:
            config.duplicate_window = duplicate_window
        if atomic:
            config.allow_atomic = True
        info = await js.add_stream(config)
    else:
        config = info.config
        window = duplicate_window if duplicate_window is not None else config.duplicate_window
        takes_atomic = bool(config.allow_atomic) or atomic
        if (config.subjects, config.duplicate_window, bool(config.allow_atomic)) != (
            subjects, window, takes_atomic
        ):  # fmt: skip
            config.subjects, config.duplicate_window = subjects, window
            config.allow_atomic = takes_atomic or None
            info = await js.update_stream(config)
    if atomic and not info.config.allow_atomic:
        raise StreamConfigError(
            f"stream {name} does not take atomic batches: SPN needs nats-server {ATOMIC_SINCE}"
            " or later"
        )
    return name


ATOMIC_SINCE = "2.12.1"  # atomic batches that carry Nats-Msg-Id (2.12.0 refuses them)


def check_server(nc: Client) -> None:
    """The relays publish atomic batches with message ids: refuse an older server at once."""
    version = nc.connected_server_version
    found = (version.major, version.minor, version.patch)
    if found < tuple(int(part) for part in ATOMIC_SINCE.split(".")):
        raise StreamConfigError(
            f"nats-server {'.'.join(map(str, found))} is too old: SPN needs {ATOMIC_SINCE} or "
            "later (atomic batch publishing with message ids)"
        )


async def ensure_events_stream(js: JetStreamContext, namespace: str) -> str:
    """``<NS>_EVENTS``: every integration event.

    Publishers deduplicate on ``Nats-Msg-Id`` within the stream's duplicate window (NATS
    default, two minutes). Relays publish atomic batches, and resume from the stream's last
    message, so a restart after a longer outage publishes nothing twice.
    """
    return await ensure_stream(
        js, events_stream(namespace), [events_wildcard(namespace)], atomic=True
    )

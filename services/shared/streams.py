"""JetStream streams shared by the services."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from contracts.subjects import events_stream, events_wildcard


async def ensure_stream(
    js: JetStreamContext, name: str, subjects: list[str], duplicate_window: float | None = None
) -> str:
    """Create the stream (file storage) or make sure it takes exactly these subjects (and,
    if given, deduplicates ``Nats-Msg-Id`` over this many seconds)."""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        config = StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE)
        if duplicate_window is not None:
            config.duplicate_window = duplicate_window
        await js.add_stream(config)
        return name
    wanted = duplicate_window if duplicate_window is not None else info.config.duplicate_window
    if info.config.subjects != subjects or info.config.duplicate_window != wanted:
        info.config.subjects = subjects
        info.config.duplicate_window = wanted
        await js.update_stream(info.config)
    return name


async def ensure_events_stream(js: JetStreamContext, namespace: str) -> str:
    """``<NS>_EVENTS``: every integration event.

    Publishers deduplicate on ``Nats-Msg-Id`` within the stream's duplicate window (NATS
    default, two minutes); the relay also resumes from the stream's last message, so a
    restart after a longer outage publishes nothing twice.
    """
    return await ensure_stream(js, events_stream(namespace), [events_wildcard(namespace)])

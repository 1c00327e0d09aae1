"""JetStream streams shared by the services."""

from __future__ import annotations

import uuid

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError, NotFoundError

from contracts.subjects import EPOCH_KEY, events_stream, events_wildcard


class StreamConfigError(RuntimeError):
    """The NATS server cannot keep a stream the way SPN needs it."""


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    duplicate_window: float | None = None,
    atomic: bool = False,
    metadata: dict[str, str] | None = None,
) -> str:
    """Create the stream (file storage, with ``metadata`` if given) or make sure it takes
    exactly these subjects (and, if given, deduplicates ``Nats-Msg-Id`` over this many
    seconds; with ``atomic``, takes atomic batches)."""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        info = await _create(js, name, subjects, duplicate_window, atomic, metadata)
    else:
        config = info.config
        window = duplicate_window if duplicate_window is not None else config.duplicate_window
        takes_atomic = bool(config.allow_atomic) or atomic
        if (config.subjects, config.duplicate_window, bool(config.allow_atomic)) != (
            subjects, window, takes_atomic
        ):  # fmt: skip
            config.subjects, config.duplicate_window = subjects, window
            config.allow_atomic = takes_atomic or None
            try:
                info = await js.update_stream(config)
            except (NatsError, TimeoutError) as error:  # a service may not change a stream
                raise StreamConfigError(
                    f"stream {name} is not set up as SPN needs it (subjects {subjects}, "
                    f"duplicate window {window}s, atomic batches), and it could not be "
                    f"changed ({type(error).__name__}: {error}): change it with the "
                    "operator's credential (nats stream edit), or let spn restore make it"
                ) from error
    if atomic and not info.config.allow_atomic:
        raise StreamConfigError(
            f"stream {name} does not take atomic batches: SPN needs nats-server {ATOMIC_SINCE}"
            " or later"
        )
    return name


async def _create(js: JetStreamContext, name: str, subjects: list[str],
                  duplicate_window: float | None, atomic: bool,
                  metadata: dict[str, str] | None) -> StreamInfo:  # fmt: skip
    """Make the stream; if another service made it meanwhile (with another epoch), that
    one is it."""
    config = StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE)
    if duplicate_window is not None:
        config.duplicate_window = duplicate_window
    if atomic:
        config.allow_atomic = True
    if metadata:
        config.metadata = dict(metadata)
    try:
        return await js.add_stream(config)
    except BadRequestError as error:
        if error.err_code != STREAM_NAME_IN_USE:
            raise
        return await js.stream_info(name)


STREAM_NAME_IN_USE = 10058  # JetStream: "stream name already in use with a different config"
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
    message, so a restart after a longer outage publishes nothing twice. A stream made here
    gets a new epoch (``EPOCH_KEY`` in its metadata): made again after a deletion, its
    sequences start over, and consumers see by the epoch that they must too.
    """
    return await ensure_stream(
        js, events_stream(namespace), [events_wildcard(namespace)], atomic=True,
        metadata={EPOCH_KEY: uuid.uuid4().hex},
    )  # fmt: skip


async def tracking_name(js: JetStreamContext, stream: str) -> str:
    """The name a consumer tracks its position in the stream under: ``<stream>@<epoch>``
    (a stream made again has a new epoch, and its sequences start over), or the stream's
    name for one made without an epoch."""
    info = await js.stream_info(stream)
    epoch = (info.config.metadata or {}).get(EPOCH_KEY)
    return f"{stream}@{epoch}" if epoch else stream

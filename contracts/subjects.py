"""Subject and stream names. Every name sits under a namespace (default ``spn``), so several
networks (or test runs) can share one NATS server without seeing each other."""

from __future__ import annotations

import re

DEFAULT_NAMESPACE = "spn"
PUBLISHERS = ("plans", "status", "rollup", "alerts")
"""The services whose relays publish integration events."""

DURABLES = {
    "status-inbox": ("status", "inbox"),
    "status-plans": ("status", "events"),
    "rollup": ("rollup", "events"),
    "alerts": ("alerts", "events"),
}
"""Each durable consumer: its service, and the stream it reads (the NATS permissions let a
service make, read, fetch from and acknowledge only its own)."""


def rebuild_consumer(service: str) -> str:
    """The consumer a service's rebuild reads the events stream with (one at a time)."""
    return f"{service}-rebuild"


def subject(namespace: str, relative: str) -> str:
    """``subject("spn", "cmd.plans.import_plan") == "spn.cmd.plans.import_plan"``."""
    return f"{namespace}.{relative}"


def events_stream(namespace: str) -> str:
    """JetStream stream holding every integration event: ``SPN_EVENTS`` for ``spn``."""
    return f"{namespace.upper().replace('-', '_')}_EVENTS"


def events_wildcard(namespace: str, service: str | None = None) -> str:
    return f"{namespace}.evt.{service}.>" if service else f"{namespace}.evt.>"


EPOCH_KEY = "spn_epoch"
"""Metadata of the events stream: an id made when the stream is created, so a consumer
knows a stream deleted and made again (its sequences start over) from the one it tracked."""

PREVIOUS_HEADER = "Spn-Previous"
"""On every integration event: the notification id of the event its service published
before it (0 for the first), so a consumer sees when the stream lacks one."""


def event_msg_id(service: str, notification_id: int, mark: str | None = None) -> str:
    """``Nats-Msg-Id`` of an integration event: ``plans:41``; after the relay refilled a
    stream that lost events, ``plans:41~<mark>`` (JetStream still remembers the ids of
    purged messages for its duplicate window, and would drop a plain refill). The mark is
    ``<chain>`` or ``<chain>.<n>``: the refill's events follow stream message ``<chain>``."""
    plain = f"{service}:{notification_id}"
    return f"{plain}~{mark}" if mark else plain


EVENT_ID = re.compile(r"([^:~]+):([0-9]{1,19})(?:~([0-9]{1,19}(?:\.[0-9]{1,19})?))?")


def event_source(msg_id: str) -> tuple[str, int] | None:
    """(service, notification id) of an integration event's ``Nats-Msg-Id``; None if it
    is not one."""
    found = EVENT_ID.fullmatch(msg_id)
    return (found[1], int(found[2])) if found else None


def event_mark(msg_id: str) -> str | None:
    """The refill mark of an integration event's ``Nats-Msg-Id`` (None: a plain id, or no
    event's)."""
    found = EVENT_ID.fullmatch(msg_id)
    return found[3] if found else None


def chain_start(mark: str | None) -> int:
    """The stream sequence from which the events of a mark are (1 for plain ids)."""
    return int(mark.partition(".")[0]) + 1 if mark else 1


def refill_subject(namespace: str, service: str) -> str:
    """Where a consumer asks a service's relay to publish its events again after one it
    took (core NATS, no reply): ``spn.ctl.relay.plans.refill``, body ``{"after": 41}``."""
    return f"{namespace}.ctl.relay.{service}.refill"


def service_of_subject(namespace: str, subject_name: str) -> str | None:
    """The service whose events a subject carries: ``spn.evt.plans.plan.approved`` ->
    ``plans``."""
    prefix = f"{namespace}.evt."
    if not subject_name.startswith(prefix):
        return None
    return subject_name[len(prefix):].partition(".")[0] or None

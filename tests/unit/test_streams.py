"""The NATS server check made before any stream is used."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from nats.aio.client import ServerVersion

from services.shared.streams import StreamConfigError, check_server


def server(version: str) -> Any:
    return SimpleNamespace(connected_server_version=ServerVersion(version))


def test_a_server_that_refuses_message_ids_in_atomic_batches_is_refused_by_name():
    with pytest.raises(StreamConfigError, match=r"nats-server 2\.12\.0 is too old.*2\.12\.1"):
        check_server(server("2.12.0"))
    with pytest.raises(StreamConfigError, match=r"2\.11\.4"):
        check_server(server("2.11.4"))


def test_a_current_server_passes():
    check_server(server("2.12.1"))
    check_server(server("2.15.1"))
    check_server(server("3.0.0"))

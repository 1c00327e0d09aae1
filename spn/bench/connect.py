"""The benchmark's own connections to the stack it runs: with the operator's credential
(``SPN_NATS_CREDENTIALS``, set by ``spn bench`` once its stack is up)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from services.shared.credentials import connect_options


def credentials() -> Path | None:
    named = os.environ.get("SPN_NATS_CREDENTIALS")
    return Path(named) if named else None


def nats_options() -> dict[str, Any]:
    return connect_options(credentials())

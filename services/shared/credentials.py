"""A NATS credential as a file: who connects (the user) and its password, kept in a file
readable by its owner only, so the secret is never in an environment variable, a
command line, a banner or a log. Services and the CLI read the file they are given."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faststream.nats import NatsUserPassword


class CredentialError(RuntimeError):
    """A credential file that cannot be read or is not one."""


@dataclass(frozen=True)
class NatsCredential:
    user: str
    password: str

    def __repr__(self) -> str:  # never the password, even in a traceback's locals
        return f"NatsCredential(user={self.user!r})"

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``nats.connect`` (and faststream's broker)."""
        return {"user": self.user, "password": self.password}


def read_credential(path: Path) -> NatsCredential:
    try:
        data = json.loads(path.read_text())
        return NatsCredential(user=str(data["user"]), password=str(data["password"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CredentialError(f"{path}: not a readable NATS credential ({type(error).__name__})"
                              ) from None  # fmt: skip


def write_credential(path: Path, user: str) -> NatsCredential:
    """A new credential for ``user`` (a random password) in a file only its owner reads;
    an existing file is kept as it is."""
    if path.exists():
        return read_credential(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    credential = NatsCredential(user=user, password=secrets.token_urlsafe(32))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"user": credential.user, "password": credential.password}, file)
    return credential


def broker_security(path: Path | None) -> NatsUserPassword | None:
    """The same credential as faststream's broker takes it."""
    if path is None:
        return None
    credential = read_credential(path)
    return NatsUserPassword(credential.user, credential.password)


def connect_options(path: Path | None) -> dict[str, Any]:
    """``user`` and ``password`` from the credential file, or nothing without one."""
    return read_credential(path).options() if path is not None else {}

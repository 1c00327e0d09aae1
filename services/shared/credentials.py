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
    inbox_prefix: str | None = None  # where its replies come: the only subjects it reads

    def __repr__(self) -> str:  # never the password, even in a traceback's locals
        return f"NatsCredential(user={self.user!r})"

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``nats.connect``."""
        found: dict[str, Any] = {"user": self.user, "password": self.password}
        return found | ({"inbox_prefix": self.inbox_prefix} if self.inbox_prefix else {})


def read_credential(path: Path) -> NatsCredential:
    try:
        data = json.loads(path.read_text())
        return NatsCredential(user=str(data["user"]), password=str(data["password"]),
                              inbox_prefix=data.get("inbox_prefix"))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CredentialError(f"{path}: not a readable NATS credential ({type(error).__name__})"
                              ) from None  # fmt: skip


def write_credential(path: Path, user: str, inbox_prefix: str | None = None) -> NatsCredential:
    """A new credential for ``user`` (a random password) in a file only its owner reads,
    written whole before it is in place; an existing file is kept as it is (with the inbox
    prefix added, if it had none)."""
    if path.exists():
        found = read_credential(path)
        if inbox_prefix is None or found.inbox_prefix == inbox_prefix:
            return found
        password = found.password
    else:
        password = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    credential = NatsCredential(user=user, password=password, inbox_prefix=inbox_prefix)
    data = {"user": user, "password": credential.password}
    write_private(path, json.dumps(data | ({"inbox_prefix": inbox_prefix} if inbox_prefix
                                           else {})))  # fmt: skip
    return credential


def write_private(path: Path, text: str) -> None:
    """``text`` in a file only its owner reads, replacing it at once (never half written,
    never readable by others, not even for a moment)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def broker_options(path: Path | None) -> dict[str, Any]:
    """The same credential as faststream's broker takes it: its security, and its inbox
    prefix if it names one."""
    if path is None:
        return {}
    credential = read_credential(path)
    found: dict[str, Any] = {"security": NatsUserPassword(credential.user, credential.password)}
    return found | ({"inbox_prefix": credential.inbox_prefix} if credential.inbox_prefix else {})


def connect_options(path: Path | None) -> dict[str, Any]:
    """``user`` and ``password`` from the credential file, or nothing without one."""
    return read_credential(path).options() if path is not None else {}

"""Signed checkpoints of a log, in the C2SP formats: a checkpoint (``tlog-checkpoint``:
origin, tree size, base64 root hash, one per line) in a signed note (``signed-note``:
the text, a blank line, and ``— <key name> <base64(key id || Ed25519 signature)>``)."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from services.shared.errors import DomainError

ED25519 = b"\x01"  # the signed-note signature type of Ed25519
DASH = "\u2014"


class CheckpointError(Exception):
    """A checkpoint that does not parse, or whose signature does not verify."""


class AuditError(DomainError):
    """The audit log cannot answer as asked: a checkpoint given that is not one, a log
    that no longer matches its signed checkpoints."""

    code = "audit_error"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str  # the signed note, as written


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def verifier_key(name: str, key: Ed25519PrivateKey) -> str:
    """``<name>+<key id hex>+<base64(0x01 || public key)>`` (the note verifier key)."""
    public = _public_bytes(key.public_key())
    encoded = base64.b64encode(ED25519 + public).decode()
    return f"{name}+{key_id(name, public).hex()}+{encoded}"


def sign(origin: str, size: int, root: bytes, key: Ed25519PrivateKey, name: str) -> Checkpoint:
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    public = _public_bytes(key.public_key())
    signature = base64.b64encode(key_id(name, public) + key.sign(body.encode())).decode()
    return Checkpoint(origin, size, root, f"{body}\n{DASH} {name} {signature}\n")


def verify(note: str, verifier: str) -> Checkpoint:
    """The checkpoint of a signed note, once a signature by ``verifier`` checks."""
    name, hex_id, encoded = verifier.split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != ED25519 or key_id(name, raw[1:]).hex() != hex_id:
        raise CheckpointError(f"not an Ed25519 verifier key for {name}")
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise CheckpointError("a signed note has its text, a blank line, then signatures")
    text = body + "\n"
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != name:
            continue
        signed = base64.b64decode(parts[2])
        if signed[:4] != bytes.fromhex(hex_id):
            continue
        try:
            public.verify(signed[4:], text.encode())
        except Exception as error:  # cryptography's InvalidSignature
            raise CheckpointError(f"the signature by {name} does not verify") from error
        return parse(text, note)
    raise CheckpointError(f"no signature by {name}")


def parse(text: str, note: str) -> Checkpoint:
    lines = text.split("\n")
    try:
        return Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True),
                          note)  # fmt: skip
    except (IndexError, ValueError) as error:
        raise CheckpointError(f"not a checkpoint: {text[:80]!r}") from error


def load_or_create_key(path: Path, signed_before: bool) -> Ed25519PrivateKey:
    """The signing key kept in ``path`` (32 raw bytes, base64), made on first use, readable
    by its owner only. It belongs outside the database: whoever can change the events must
    not be able to sign. A log with checkpoints signed before gets no new key: a missing
    key file is an error to look into, not one to paper over."""
    if path.exists():
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_text()))
    if signed_before:
        raise AuditError(f"the audit signing key {path.resolve()} is missing, but this log "
                         "has checkpoints signed with it: restore it")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(base64.b64encode(raw).decode())
    return key

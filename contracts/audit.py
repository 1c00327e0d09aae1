"""Tamper evidence: each service's event log under an RFC 9162 Merkle tree with signed
C2SP checkpoints; verification, inclusion proofs and checkpoints on request. Each
subject ends with the service asked (``spn.cmd.audit.verify.status``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contracts.base import Command, Part, Versioned
from contracts.status import PlanKey


class EventRef(Part):
    notification_id: int
    originator_id: str | None = None
    originator_version: int | None = None
    topic: str | None = None


class CheckpointCheck(Part):
    tree_size: int
    signed: bool = Field(description="Its signature verifies with the service's key")
    matches: bool = Field(description="The tree of the stored leaves has its root at its size")


class LogVerified(Versioned):
    SCHEMA_NAME = "log-verified"
    service: str
    origin: str
    leaves: int
    root: str = Field(description="Base64 root hash of the stored leaves")
    intact: bool = Field(description="Every event as its leaf, every leaf's event there, and "
                         "every checkpoint checked signed and matching")  # fmt: skip
    altered: list[EventRef]
    removed: list[EventRef]
    inserted: list[EventRef]
    latest: CheckpointCheck | None
    checkpoints: int = Field(description="Stored checkpoints checked (signature and root)")
    failed_checkpoints: list[CheckpointCheck] = Field(
        description="Stored checkpoints whose signature or root does not hold"
    )
    given: CheckpointCheck | None = Field(default=None, description="The checkpoint given")
    verifier_key: str = Field(description="The key the service signs with now")
    key_matches: bool | None = Field(
        default=None, description="Whether it is the verifier key given (one kept outside)"
    )


class _AuditCommand(Command):
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("service",)


class VerifyLog(_AuditCommand):
    """Recompute every leaf from the events as stored now; check the latest checkpoint and
    one kept outside the system."""

    SCHEMA_NAME = "verify-log"
    SUBJECT = "cmd.audit.verify"
    RESULT = LogVerified
    checkpoint: str | None = Field(
        default=None, max_length=10_000, description="A signed checkpoint note exported earlier"
    )
    verifier_key: str | None = Field(
        default=None, max_length=500,
        description="The service's verifier key kept outside: checkpoints are checked with it",
    )  # fmt: skip


class StoredEventView(Part):
    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: str = Field(description="Base64 of the stored state bytes")


class InclusionProof(Part):
    leaf_index: int
    tree_size: int
    path: list[str] = Field(description="Base64 sibling hashes, leaf to root (RFC 9162)")
    event: StoredEventView


class PlanProofs(Versioned):
    """Each of a plan's events in one service's log, with its inclusion proof against the
    latest checkpoint. Leaf = SHA-256(0x00 || canonical event): sorted-key compact JSON of
    id, originator_id, originator_version, topic and base64 state."""

    SCHEMA_NAME = "plan-proofs"
    service: str
    plan: PlanKey
    checkpoint: str = Field(description="The signed checkpoint note the proofs are against")
    verifier_key: str
    total: int = Field(description="The plan's events in the tree; a page holds some")
    proofs: list[InclusionProof]


class ProvePlan(_AuditCommand):
    SCHEMA_NAME = "prove-plan"
    SUBJECT = "qry.audit.prove"
    SCOPE = "plan"
    RESULT = PlanProofs
    plan: PlanKey
    offset: int = Field(default=0, ge=0, description="The first of the plan's events")
    limit: int = Field(default=200, ge=1, le=500, description="A page (the reply's size)")


class CheckpointNote(Versioned):
    SCHEMA_NAME = "checkpoint-note"
    service: str
    origin: str
    tree_size: int
    note: str
    verifier_key: str


class GetCheckpoint(_AuditCommand):
    """The service's latest signed checkpoint (written first if none is yet)."""

    SCHEMA_NAME = "get-checkpoint"
    SUBJECT = "qry.audit.checkpoint"
    RESULT = CheckpointNote

"""Every service's audit entry points: verify its log, prove a plan's events, give its
latest checkpoint (``cmd.audit.verify.<service>`` and the others)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from uuid import UUID

from contracts import audit as au
from services.shared.audit.builder import AuditBuilder
from services.shared.audit.checkpoint import AuditError, CheckpointError, parse, verify
from services.shared.audit.log import AuditLog
from services.shared.audit.merkle import Levels
from services.shared.routes import Route

LISTED = 1000  # events named in one reply (a reply must fit NATS's max payload)


class AuditEndpoints:
    def __init__(self, service: str, audit: AuditLog, builder: AuditBuilder, verifier: str,
                 plan_aggregates: Callable[[str], list[UUID]]):  # fmt: skip
        self.service = service
        self.audit = audit
        self.builder = builder
        self.verifier = verifier
        self.plan_aggregates = plan_aggregates

    def routes(self) -> list[Route]:
        return [(au.VerifyLog, self.verify), (au.ProvePlan, self.prove),
                (au.GetCheckpoint, self.checkpoint)]  # fmt: skip

    def verify(self, request: au.VerifyLog) -> au.LogVerified:
        """Every event against its leaf; every stored checkpoint (read first: the tree
        only grows meanwhile) and the one given, with the key given or the service's."""
        key = request.verifier_key or self.verifier
        stored = self.audit.checkpoints()
        found, levels = self.audit.verify()
        checks = [self._check(c["note"], levels, key) for c in stored]
        failed = [c for c in checks if not (c.signed and c.matches)]
        given = self._check(request.checkpoint, levels, key) if request.checkpoint else None
        vouched = bool(checks) or found.leaves == 0
        intact = found.intact and vouched and not failed and (
            given is None or (given.signed and given.matches))
        return au.LogVerified(
            service=self.service, origin=self.builder.origin, leaves=found.leaves,
            root=base64.b64encode(levels.root()).decode(), intact=intact,
            altered=[au.EventRef(**r) for r in found.altered[:LISTED]],
            removed=[au.EventRef(**r) for r in found.removed[:LISTED]],
            inserted=[au.EventRef(**r) for r in found.inserted[:LISTED]],
            latest=checks[-1] if checks else None, checkpoints=len(checks),
            failed_checkpoints=failed[:LISTED], given=given, verifier_key=self.verifier,
            key_matches=None if request.verifier_key is None
            else request.verifier_key == self.verifier,
        )  # fmt: skip

    def _check(self, note: str, levels: Levels, key: str) -> au.CheckpointCheck:
        try:
            checkpoint, signed = verify(note, key), True
        except CheckpointError:
            try:
                checkpoint, signed = parse(note.partition("\n\n")[0] + "\n", note), False
            except CheckpointError as error:
                raise AuditError(f"not a checkpoint note: {error}") from None
        except ValueError as error:  # a verifier key that is not one
            raise AuditError(f"not a verifier key: {error}") from None
        matches = checkpoint.size <= levels.size and levels.root(checkpoint.size) == checkpoint.root
        return au.CheckpointCheck(tree_size=checkpoint.size, signed=signed, matches=matches)

    def prove(self, request: au.ProvePlan) -> au.PlanProofs:
        """A page of the plan's events with their proofs against a fresh checkpoint."""
        self.builder.sign_now()
        latest: Any = self.audit.latest_checkpoint()
        size = int(latest["tree_size"])
        rows = [r for r in self.audit.leaves_of(self.plan_aggregates(request.plan))
                if r["leaf_index"] < size]  # fmt: skip
        page = rows[request.offset:request.offset + request.limit]
        levels = Levels(self.audit.leaf_hashes()[:size]) if page else Levels([])
        proofs = [au.InclusionProof(
            leaf_index=r["leaf_index"], tree_size=size,
            path=[base64.b64encode(p).decode() for p in levels.inclusion_path(r["leaf_index"])],
            event=au.StoredEventView(
                notification_id=r["notification_id"], originator_id=str(r["originator_id"]),
                originator_version=r["originator_version"], topic=r["topic"],
                state=base64.b64encode(bytes(r["state"])).decode()),
        ) for r in page]  # fmt: skip
        return au.PlanProofs(
            service=self.service, plan=request.plan, checkpoint=latest["note"],
            verifier_key=self.verifier, total=len(rows), proofs=proofs,
        )

    def checkpoint(self, request: au.GetCheckpoint) -> au.CheckpointNote:
        self.builder.sign_now()
        latest: Any = self.audit.latest_checkpoint()
        return au.CheckpointNote(service=self.service, origin=self.builder.origin,
                                 tree_size=int(latest["tree_size"]), note=latest["note"],
                                 verifier_key=self.verifier)  # fmt: skip

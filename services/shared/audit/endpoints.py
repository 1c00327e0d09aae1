"""Every service's audit entry points: verify its log, prove a plan's events, give its
latest checkpoint (``cmd.audit.verify.<service>`` and the others)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from uuid import UUID

from contracts import audit as au
from services.shared.audit.builder import AuditBuilder
from services.shared.audit.checkpoint import CheckpointError, parse, verify
from services.shared.audit.log import AuditLog
from services.shared.audit.merkle import Levels
from services.shared.routes import Route


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
        found, levels = self.audit.verify()
        latest = self.audit.latest_checkpoint()
        checks = {"latest": self._check(latest["note"], levels) if latest else None,
                  "given": self._check(request.checkpoint, levels) if request.checkpoint
                  else None}  # fmt: skip
        vouched = all(c is None or (c.signed and c.matches) for c in checks.values())
        return au.LogVerified(
            service=self.service, origin=self.builder.origin, leaves=found.leaves,
            root=base64.b64encode(levels.root()).decode(), intact=found.intact and vouched,
            altered=[au.EventRef(**r) for r in found.altered],
            removed=[au.EventRef(**r) for r in found.removed],
            inserted=[au.EventRef(**r) for r in found.inserted],
            verifier_key=self.verifier, **checks,
        )  # fmt: skip

    def _check(self, note: str, levels: Levels) -> au.CheckpointCheck:
        try:
            checkpoint, signed = verify(note, self.verifier), True
        except CheckpointError:
            checkpoint, signed = parse(note.partition("\n\n")[0] + "\n", note), False
        matches = checkpoint.size <= levels.size and levels.root(checkpoint.size) == checkpoint.root
        return au.CheckpointCheck(tree_size=checkpoint.size, signed=signed, matches=matches)

    def prove(self, request: au.ProvePlan) -> au.PlanProofs:
        self.builder.sign_now()
        latest: Any = self.audit.latest_checkpoint()
        size = int(latest["tree_size"])
        rows = [r for r in self.audit.leaves_of(self.plan_aggregates(request.plan))
                if r["leaf_index"] < size]  # fmt: skip
        levels = Levels(self.audit.leaf_hashes()[:size]) if rows else Levels([])
        proofs = [au.InclusionProof(
            leaf_index=r["leaf_index"], tree_size=size,
            path=[base64.b64encode(p).decode() for p in levels.inclusion_path(r["leaf_index"])],
            event=au.StoredEventView(
                notification_id=r["notification_id"], originator_id=str(r["originator_id"]),
                originator_version=r["originator_version"], topic=r["topic"],
                state=base64.b64encode(bytes(r["state"])).decode()),
        ) for r in rows]  # fmt: skip
        return au.PlanProofs(service=self.service, plan=request.plan, checkpoint=latest["note"],
                             verifier_key=self.verifier, proofs=proofs)  # fmt: skip

    def checkpoint(self, request: au.GetCheckpoint) -> au.CheckpointNote:
        self.builder.sign_now()
        latest: Any = self.audit.latest_checkpoint()
        return au.CheckpointNote(service=self.service, origin=self.builder.origin,
                                 tree_size=int(latest["tree_size"]), note=latest["note"],
                                 verifier_key=self.verifier)  # fmt: skip

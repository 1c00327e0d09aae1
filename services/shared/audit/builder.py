"""The task that keeps a service's audit log: it appends the leaf of each event stored
since the last (off the write path, in notification order) and signs a checkpoint on a
schedule and after each period close."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.shared.audit.checkpoint import AuditError, Checkpoint, sign
from services.shared.audit.log import AuditLog, leaf_of
from services.shared.audit.merkle import Frontier
from services.shared.tasks import Heartbeat

log = logging.getLogger(__name__)
CLOSES = ("ReportingPeriod.Closed", "ReportingTerm.Closed", "PeriodJudgment.Judged")
"""Event classes after which a checkpoint is signed at once (a period close)."""


class AuditBuilder:
    def __init__(self, audit: AuditLog, key: Ed25519PrivateKey, origin: str,
                 every: float = 300.0, batch: int = 1000, idle: float = 1.0,
                 closes: Sequence[str] = CLOSES):  # fmt: skip
        self.audit = audit
        self.key = key
        self.origin = origin
        self.every = every
        self.batch = batch
        self.idle = idle
        self.closes = tuple(closes)
        self.heartbeat = Heartbeat()
        self.frontier = Frontier()
        self._last_id = 0
        self._signed = (0, 0.0)  # (tree size, when: monotonic)
        self._lock = threading.Lock()  # the task's thread and requests' threads
        self.resumed = False
        self.refusal: str | None = None  # why it signs nothing more

    async def run(self) -> None:
        """Until cancelled (its supervisor restarts it after a failure: it finds its
        place again from the stored leaves)."""
        await asyncio.to_thread(self._resume)
        while self.refusal is not None:  # said by health until someone looks
            self.heartbeat.trouble(self.refusal)
            await asyncio.sleep(60)
        while True:
            with self.heartbeat.busy():
                appended = await asyncio.to_thread(self.step)
            self.heartbeat.well()
            if not appended:
                await asyncio.sleep(self.idle)

    def _resume(self) -> None:
        with self._lock:
            self._resume_unlocked()

    def _resume_unlocked(self) -> None:
        """The frontier again from the stored leaves, each stored checkpoint's root checked
        on the way: a tree that no longer gives a signed root is never signed again."""
        self.frontier = Frontier()
        signed = {int(c["tree_size"]): bytes(c["root_hash"]) for c in self.audit.checkpoints()}
        for leaf in self.audit.leaf_hashes():
            self.frontier.append(leaf)
            root = signed.get(self.frontier.size)
            if root is not None and root != self.frontier.root():
                self.refusal = (f"the stored leaves no longer give the root signed at tree size "
                                f"{self.frontier.size}: the log was changed; run spn audit "
                                "verify")  # fmt: skip
                log.error("audit %s: %s", self.origin, self.refusal)
                return
        if max(signed, default=0) > self.frontier.size:
            self.refusal = (f"a checkpoint was signed at tree size {max(signed)}, but only "
                            f"{self.frontier.size} leaves are stored: leaves were removed; "
                            "run spn audit verify")  # fmt: skip
            log.error("audit %s: %s", self.origin, self.refusal)
            return
        _, self._last_id = self.audit.position()
        self._signed = (max(signed, default=0), time.monotonic())
        self.resumed = True

    def step(self) -> int:
        """Append the next leaves; sign when due (a close, or the schedule). How many
        were appended."""
        with self._lock:
            if not self.resumed:
                self._resume_unlocked()
                if self.refusal is not None:
                    raise AuditError(self.refusal)
            rows = self._append()
            closed = any(row["topic"].endswith(self.closes) for row in rows)
            stale = time.monotonic() - self._signed[1] > self.every
            if self.frontier.size > self._signed[0] and (closed or stale):
                self._checkpoint()
            return len(rows)

    def sign_now(self) -> None:
        """Take every event stored so far into the tree and sign its checkpoint (unless
        the latest is of this size already)."""
        with self._lock:
            if not self.resumed and self.refusal is None:
                self._resume_unlocked()
            if self.refusal is not None:
                raise AuditError(self.refusal)
            while self._append():
                pass
            if self.frontier.size > self._signed[0] or self.audit.latest_checkpoint() is None:
                self._checkpoint()

    def _append(self) -> list[dict]:
        rows = self.audit.stored_after(self._last_id, self.batch)
        if rows:
            leaves = [leaf_of(row) for row in rows]
            try:
                self.audit.append(self.frontier.size, rows, leaves)
            except Exception:
                self.resumed = False  # it may have been stored after all: resume first
                raise
            for leaf in leaves:
                self.frontier.append(leaf)
            self._last_id = rows[-1]["notification_id"]
        return rows

    def _checkpoint(self) -> Checkpoint:
        signed = sign(self.origin, self.frontier.size, self.frontier.root(), self.key, self.origin)
        self.audit.add_checkpoint(signed.size, signed.root, signed.note)
        self._signed = (signed.size, time.monotonic())
        return signed

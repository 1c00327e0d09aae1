"""Organization aggregate: a node of the SEA -> LEA -> school tree, with its contacts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.plans.domain import ids
from services.plans.domain.errors import OrganizationConflictError

PARENT_KIND: dict[str, str | None] = {"SEA": None, "LEA": "SEA", "SCHOOL": "LEA"}


class Organization(Aggregate):
    """An SEA, LEA or school. ``profile`` holds its contacts (leader, liaison, address)."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return ids.organization_id(code)

    @classmethod
    def register(
        cls,
        *,
        code: str,
        kind: str,
        name: str,
        profile: dict[str, Any],
        parent: Organization | None,
    ) -> Organization:
        check_parent(code, kind, parent)
        return cls(
            code=code,
            kind=kind,
            name=name,
            parent_code=parent.code if parent else None,
            profile=profile,
        )

    @event("Registered")
    def __init__(
        self, *, code: str, kind: str, name: str, parent_code: str | None, profile: dict[str, Any]
    ) -> None:
        self.code = code
        self.kind = kind
        self.name = name
        self.parent_code = parent_code
        self.profile = profile

    @property
    def approver_code(self) -> str:
        """Who approves this organization's plans: its parent; the SEA approves its own."""
        return self.parent_code or self.code

    def update(
        self, *, kind: str, parent_code: str | None, name: str, profile: dict[str, Any]
    ) -> bool:
        """Update name and contacts; return False when nothing changed."""
        if (kind, parent_code) != (self.kind, self.parent_code):
            raise OrganizationConflictError(
                f"organization {self.code} is a {self.kind} under {self.parent_code or 'nobody'}; "
                f"its kind and parent cannot change to {kind} under {parent_code or 'nobody'}"
            )
        if (name, profile) == (self.name, self.profile):
            return False
        self._update_profile(name=name, profile=profile)
        return True

    @event("ProfileUpdated")
    def _update_profile(self, *, name: str, profile: dict[str, Any]) -> None:
        self.name = name
        self.profile = profile


def check_parent(code: str, kind: str, parent: Organization | None) -> None:
    expected = PARENT_KIND[kind]
    if expected is None and parent is not None:
        raise OrganizationConflictError(f"{code}: an SEA has no parent organization")
    if expected is not None and (parent is None or parent.kind != expected):
        found = f"{parent.code} is a {parent.kind}" if parent else "it has no parent"
        raise OrganizationConflictError(f"{code}: a {kind} must report to an {expected}; {found}")

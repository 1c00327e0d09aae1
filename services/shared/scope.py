"""Whose question a query is, and what it may see. An organization sees itself and every
organization beneath it (a school itself, an LEA its schools, the SEA the network); the
operator (a query on the bare subject, which only the operator's credential may publish)
sees everything. An organization asks on ``<SUBJECT>.<organization>``, which NATS lets
only its own credential (and the operator's) publish.

Each query contract says how its answer is scoped (``Command.SCOPE``): by the plan it
names, by the organization it names (none named: the one asking), or by its answer (the
endpoint narrows it, given the ``Scope``); a query with no scope is the operator's only.
Each service answers from its own directory of organizations (``DirectoryTables``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from contracts.base import Command
from services.shared.errors import DomainError
from services.shared.read_models import Query, ReadModelTables

MAX_DEPTH = 8  # far deeper than SEA > LEA > school; a cycle in a directory ends here


class OutOfScopeError(DomainError):
    """A query about an organization the one asking is neither nor above."""

    code = "not_authorized"


class DirectoryTables(ReadModelTables):
    """Read models with a table of organizations (``code`` and ``parent`` columns)."""

    ORGANIZATIONS: ClassVar[str] = "organizations"

    def directory_incomplete(self) -> bool:
        """Empty, or naming a parent it lacks (an organization's parent always comes
        first): what a directory fed by events taken before it was kept looks like."""
        rows = self._rows(Query(self.ORGANIZATIONS, columns=("code", "parent")))
        codes = {r["code"] for r in rows}
        return not rows or any(r["parent"] not in codes for r in rows if r["parent"])

    def lineage(self, code: str) -> list[str]:
        """The organization and those above it, nearest first, as this service knows them
        (an organization it does not know: itself only)."""
        found: list[str] = []
        current: str | None = code
        while current is not None and current not in found and len(found) < MAX_DEPTH:
            found.append(current)
            rows = self._rows(Query(self.ORGANIZATIONS, equal={"code": current},
                                    columns=("parent",)))  # fmt: skip
            current = rows[0]["parent"] if rows else None
        return found

    def family(self, code: str) -> set[str]:
        """The organization and every one beneath it."""
        children: dict[str, list[str]] = {}
        for row in self._rows(Query(self.ORGANIZATIONS, columns=("code", "parent"))):
            if row["parent"] is not None:
                children.setdefault(row["parent"], []).append(row["code"])
        found, pending = {code}, [code]
        while pending:
            for child in children.get(pending.pop(), []):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def plan_owner(self, ref: str) -> str | None:
        """The organization of a plan named by its key (``org/2026-27``); None for any
        other reference (a service that also takes plan ids overrides this)."""
        return ref.split("/", 1)[0] if "/" in ref else None


@dataclass(frozen=True)
class Scope:
    """The organization asking (None: the operator), and the directory that says what is
    beneath it."""

    organization: str | None
    directory: DirectoryTables | None = None

    def admits(self, code: str) -> bool:
        if self.organization is None:
            return True
        assert self.directory is not None, "an organization's scope needs a directory"
        return self.organization in self.directory.lineage(code)

    def require(self, code: str, what: str) -> None:
        """OutOfScopeError unless the asker may see ``what``, which is ``code``'s."""
        if not self.admits(code):
            raise OutOfScopeError(f"{what} is not of {self.organization} or an organization "
                                  "beneath it")  # fmt: skip

    def family(self) -> set[str] | None:
        """Every organization the asker may see (None: every one)."""
        if self.organization is None:
            return None
        assert self.directory is not None, "an organization's scope needs a directory"
        return self.directory.family(self.organization)


def narrowed(contract: type[Command], request: Any, scope: Scope) -> Any:
    """The request as the asker may make it: OutOfScopeError if it asks about what the
    asker may not see; a query naming no organization asks about the asker's own."""
    if scope.organization is None:
        return request
    if contract.SCOPE == "plan":
        require_plan(scope, request.plan)
    elif contract.SCOPE == "organization":
        if request.organization is None:
            return request.model_copy(update={"organization": scope.organization})
        scope.require(request.organization, f"organization {request.organization}")
    elif contract.SCOPE != "answer":
        raise OutOfScopeError(f"{contract.SCHEMA_NAME} is answered to the operator only")
    return request


def require_plan(scope: Scope, ref: str) -> None:
    """OutOfScopeError unless the plan is the asker's or beneath it; the same words for a
    plan that does not exist (a plan id names no organization until it is found)."""
    owner = scope.directory.plan_owner(ref) if scope.directory else None
    if owner is None or not scope.admits(owner):
        raise OutOfScopeError(f"plan {ref} is not of {scope.organization} or an organization "
                              "beneath it")  # fmt: skip


def acted(call: Callable[..., Any], scope: Scope) -> Callable[..., Any]:
    """An organization's act on a plan it names (submit, approve, return, close; report a
    measure): refused before any rule of the plan is looked at (its status, who may
    approve it) when the plan is neither the acting organization's nor beneath it, so
    the refusal tells nothing of another's plan."""

    def check(request: Any) -> Any:
        if isinstance(getattr(request, "plan", None), str):
            require_plan(scope, request.plan)
        return request

    return _checked_first(call, check)


def scoped(contract: type[Command], call: Callable[..., Any], scope: Scope) -> Callable[..., Any]:
    """``call`` for this asker: the request narrowed first; a call that narrows its own
    answer (``SCOPE = "answer"``) is given the scope."""
    extra = (scope,) if contract.SCOPE == "answer" else ()
    return _checked_first(call, lambda request: narrowed(contract, request, scope), extra)


def _checked_first(call: Callable[..., Any], check: Callable[[Any], Any],
                   extra: tuple[Any, ...] = ()) -> Callable[..., Any]:  # fmt: skip
    """``call(check(request), *extra)``; a coroutine function stays one (its check, which
    reads the directory, runs in a worker thread)."""
    if inspect.iscoroutinefunction(call):

        async def run_async(request: Any) -> Any:
            return await call(await asyncio.to_thread(check, request), *extra)

        return run_async
    return lambda request: call(check(request), *extra)

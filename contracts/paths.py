"""Where a field is in a contract document: the path a person reads, the names valid there.

Used wherever a validation error is shown (a service's reply, the CLI checking a file), so
a field is named the same way everywhere: ``priority_areas[0].strategies[1].practice``.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def field_path(loc: Sequence[int | str]) -> str:
    """``("plan", "priority_areas", 0, "number")`` -> ``plan.priority_areas[0].number``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def field_names_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The field names a document of ``model`` accepts in the object at ``loc`` (as it is
    written: a field's alias if it has one), following fields, list items and dict values;
    empty when ``loc`` leads to no model."""
    here: Any = model
    for part in loc:
        here = _step(here, part)
        if here is None:
            return []
    found = _models(here)
    if not found:
        return []
    return [
        info.alias or name for candidate in found for name, info in candidate.model_fields.items()
    ]


def _step(annotation: Any, part: int | str) -> Any:
    """The type found at ``part`` inside a value of type ``annotation``."""
    for candidate in _members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if isinstance(part, str):
                for name, info in candidate.model_fields.items():
                    if part in (name, info.alias):
                        return info.annotation
            continue
        origin, args = get_origin(candidate), get_args(candidate)
        if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    members = _models(annotation)  # a union of models: pydantic names the member in loc
    for member in members:
        if part == member.__name__:
            return member
    return None


def _members(annotation: Any) -> list[Any]:
    """``annotation`` without ``Annotated`` metadata, split into its union members."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]

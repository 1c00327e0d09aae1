"""Reading input files (YAML or JSON) and validating them before anything is sent."""

from __future__ import annotations

import difflib
import json
import stat
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from contracts.base import NUL_REFUSED, holds_nul
from contracts.organizations import Network
from contracts.paths import field_names_at, field_path
from contracts.plan_rules import plan_violations
from contracts.plans import ImprovementPlan
from spn.cli.errors import InvalidInputError

M = TypeVar("M", bound=BaseModel)

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
YAML_BOOLEAN_HINT = (
    "YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote the value"
)


MAX_FILE_BYTES = 4 * 1024 * 1024
"""The largest input file read (checked before it is read): a plan of 100 priority
areas' worth of text is under 1 MB."""
MAX_ALIASES = 100  # YAML aliases a file may use: no "billion laughs"


class KeysAsWritten(yaml.SafeLoader):
    """YAML whose mapping keys are text as written, as in JSON; values keep their YAML
    types (``active: true`` is a boolean, ``due: 2026-09-30`` a date).

    YAML 1.1 reads a plain ``on``, ``off``, ``yes`` or ``no`` as a boolean, so a plan
    update's ``on: 2026-09-01`` would otherwise be the key ``True`` (and ``1:`` the key 1).
    """

    aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_ALIASES} aliases (*name): refused", mark)
        return super().compose_node(parent, index)  # type: ignore[no-any-return]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        _refuse_duplicate_keys(node)
        self.flatten_mapping(node)  # keys merged in with ``<<: *anchor`` are keys here too
        node.value = [
            (_as_text(key), value) if key.tag not in (_STR, _MERGE) else (key, value)
            for key, value in node.value
        ]
        return super().construct_mapping(node, deep=deep)


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    """A key written twice in one mapping is an error (YAML would keep the last)."""
    seen: dict[Any, yaml.Node] = {}
    for key, _ in node.value:
        if key.tag == _MERGE or not isinstance(key, yaml.ScalarNode):
            continue
        first = seen.get(key.value)
        seen.setdefault(key.value, key)
        if first is not None:  # written twice, or once more through an alias
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key.value!r} (first on line "
                f"{first.start_mark.line + 1})", key.start_mark)  # fmt: skip


def read_text(path: Path, limit: int | None = None) -> str:
    """The file's text, checked before it is parsed: not larger than ``limit`` (default
    ``MAX_FILE_BYTES``), text rather than binary, UTF-8 (with or without a byte order
    mark)."""
    limit = limit or MAX_FILE_BYTES
    try:
        found = path.stat()
        if not stat.S_ISREG(found.st_mode):  # a device, a pipe: no size to check first
            raise InvalidInputError(f"{path}: is not a regular file")
        if found.st_size > limit:
            raise InvalidInputError(f"{path}: {_size(found.st_size)}, larger than the "
                                    f"{_size(limit)} an input file may be")  # fmt: skip
        with path.open("rb") as file:
            data = file.read(limit + 1)  # it may have grown since
        if len(data) > limit:
            raise InvalidInputError(f"{path}: larger than the {_size(limit)} an input file "
                                    "may be")  # fmt: skip
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read ({error.strerror or error})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInputError(f"{path}: is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise InvalidInputError(f"{path}: is a binary file, not text (YAML, JSON or CSV)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path}: is not UTF-8 text (byte 0x{data[error.start]:02X} on line {line}); "
            "save it as UTF-8") from None  # fmt: skip


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count / 1024:.1f} kB"


def _as_text(key: yaml.Node) -> yaml.Node:
    if isinstance(key, yaml.ScalarNode) and key.style is None:  # plain, not quoted
        return yaml.ScalarNode(_STR, key.value, key.start_mark, key.end_mark)
    return key


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (a field path; None: the file as a whole), what,
    and for an unknown field the nearest valid name."""

    field: str | None
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        hint = f"; did you mean '{self.suggestion}'?" if self.suggestion else ""
        return f"{where}{self.message}{hint}"

    def to_json(self) -> dict[str, str | None]:
        shown = {"field": self.field, "message": self.message}
        return shown | ({"suggestion": self.suggestion} if self.suggestion else {})


@dataclass
class Checked(Generic[M]):
    """A file checked: the document once its fields are valid, and every problem found.

    ``rules_checked``: the rules that span a document run only once its fields are valid;
    until then its problems are those of its fields (or of the file as a whole)."""

    file: Path
    document: M | None = None
    problems: list[Problem] = field(default_factory=list)
    rules_checked: bool = False

    @property
    def valid(self) -> bool:
        return self.document is not None and not self.problems

    def to_json(self) -> dict[str, Any]:
        key = self.document.key if isinstance(self.document, ImprovementPlan) else None
        return {"file": str(self.file), "valid": self.valid, "plan": key,
                "rules_checked": self.rules_checked,
                "problems": [p.to_json() for p in self.problems]}  # fmt: skip

    def refuse(self, hint: str = "") -> InvalidInputError:
        """The error for a file that is not valid: its first problem, how many more."""
        first, more = self.problems[0], len(self.problems) - 1
        noun = "problem" if more == 1 else "problems"
        rest = f" (and {more} more {noun}{hint})" if more else ""
        return InvalidInputError(f"{self.file}: {first}{rest}")


class _Unreadable(Exception):
    pass


def read_document(path: Path) -> Any:
    """Parse a ``.yaml``/``.yml``/``.json`` file (YAML keys stay text: `KeysAsWritten`)."""
    try:
        return _parse(path)
    except _Unreadable as error:
        raise InvalidInputError(f"{path}: {error}") from None


def _parse(path: Path) -> Any:
    try:
        text = read_text(path)
    except InvalidInputError as error:
        raise _Unreadable(str(error).removeprefix(f"{path}: ")) from None
    try:
        if _is_json(path):
            return json.loads(text, object_pairs_hook=_unique_keys)
        return yaml.load(text, Loader=KeysAsWritten)  # a SafeLoader: no arbitrary objects
    except json.JSONDecodeError as error:
        raise _Unreadable(f"not valid JSON: {error}") from None
    except yaml.MarkedYAMLError as error:  # one line: where, and what the parser expected
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        what = "; ".join(str(part) for part in (error.context, error.problem) if part)
        raise _Unreadable(f"not valid YAML{where}: {what or error}") from None
    except yaml.YAMLError as error:
        raise _Unreadable(f"not valid YAML: {error}") from None
    except RecursionError:
        raise _Unreadable("nested too deeply (lists or mappings within each other)") from None
    except ValueError as error:  # a number of thousands of digits, a key written twice
        raise _Unreadable(f"not valid {'JSON' if _is_json(path) else 'YAML'}: {error}"
                          ) from None  # fmt: skip


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if it names a key twice (JSON would keep the last)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"duplicate key {key!r}")
        found[key] = value
    return found


def _is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def check(path: Path, model: type[M], data: Any) -> Checked[M]:
    """``data`` read from ``path`` against ``model``: every problem, not only the first."""
    if holds_nul(data):  # a plan or network file comes in: as a command would
        return Checked(path, problems=[Problem(None, NUL_REFUSED)])
    try:
        return Checked(path, model.model_validate(data))
    except ValidationError as error:
        problems = [_problem(model, data, e, not _is_json(path)) for e in error.errors()]
        return Checked(path, problems=problems)


def _problem(model: type[BaseModel], data: Any, error: ErrorDetails, yaml_file: bool) -> Problem:
    loc = error["loc"]
    where = field_path(loc) or None
    if error["type"] == "extra_forbidden" and loc:
        return Problem(where, "unknown field", nearest_field(model, data, loc))
    if not loc and not isinstance(data, dict):
        if data is None:
            return Problem(None, "the file is empty")
        found = type(data).__name__
        return Problem(None, f"expected the document's fields (name: value), found a {found}")
    message = error["msg"]
    if yaml_file and isinstance(error.get("input"), bool) and not error["type"].startswith("bool"):
        message += f" ({YAML_BOOLEAN_HINT})"
    return Problem(where, message)


def nearest_field(model: type[BaseModel], data: Any, loc: Sequence[int | str]) -> str | None:
    """The valid field name closest to the unknown one at ``loc`` (case aside), leaving
    out the fields the object already has; None when none is close."""
    *parent, unknown = loc
    if not isinstance(unknown, str):
        return None
    given = _value_at(data, parent)
    present = set(given) if isinstance(given, dict) else set()
    names = {name.lower(): name for name in field_names_at(model, parent) if name not in present}
    close = difflib.get_close_matches(unknown.lower(), list(names), n=1)
    return names[close[0]] if close else None


def _value_at(data: Any, loc: Sequence[int | str]) -> Any:
    for part in loc:
        if not isinstance(data, dict | list):
            return None
        container: Any = data  # a dict or a list, indexed by what pydantic says is in it
        try:
            data = container[part]
        except (KeyError, IndexError, TypeError):
            if not isinstance(part, str):
                return None  # a str not in the data is a union member's name: skip it
    return data


def check_plan(path: Path) -> Checked[ImprovementPlan]:
    """A plan file against the contract and, once its fields are valid, the plan's rules."""
    try:
        data = _parse(path)
    except _Unreadable as error:
        return Checked(path, problems=[Problem(None, str(error))])
    checked = check(path, ImprovementPlan, data)
    if checked.document is None:
        return checked
    checked.rules_checked = True
    violations = plan_violations(checked.document.to_jsonable())
    checked.problems = [Problem(v.location or None, v.message) for v in violations]
    return checked


def validate(path: Path, model: type[M], data: Any) -> M:
    checked = check(path, model, data)
    if checked.document is None:
        raise checked.refuse()
    return checked.document


def load_plan(path: Path) -> ImprovementPlan:
    """A plan file, checked against the contract and the plan's rules."""
    checked = check_plan(path)
    if checked.document is None or checked.problems:
        raise checked.refuse(f"; `spn plan validate {path}` lists them all")
    return checked.document


def load_network(path: Path) -> Network:
    network = validate(path, Network, read_document(path))
    seen: set[str] = set()
    for i, org in enumerate(network.organizations):
        if org.code in seen:
            raise InvalidInputError(f"{path}: organizations[{i}].code: {org.code} appears twice")
        seen.add(org.code)
    return network

"""Who may connect to the embedded NATS, and what each may do: one user per service, an
operator (the CLI of whoever runs the stack) and one user per organization that asked
for a credential (``spn org credentials ORG``). The credentials live in
``<data>/credentials`` (files only their owner reads); the server's ``authorization``
block is written from them, beside its config, and read again when one is added.

- **operator** (``spn-admin``): everything (the state IT staff who run the stack).
- **a service** (``svc-<name>``): exactly what it needs. It publishes its own integration
  events and dead letters, refill requests to the relays, replies (``allow_responses``)
  and rebuild progress (to the operator's ``_INBOX.``), and the JetStream calls it makes:
  read the streams' state and the events stream's messages, make the events and
  dead-letter streams (the status service also the inbox; none changed, purged or
  deleted), and make, read, delete, fetch from and acknowledge its own consumers only
  (``contracts.subjects.DURABLES``, and its rebuild's reader). It receives its own commands
  and queries, the questions every service answers for itself (``<subject>.<service>``),
  its relay's refill requests and its own replies (``_INBOX_svc-<name>.>``, the prefix its
  credential file names). The alerts service also asks the four questions a quarterly
  report is made of (``ASKS``), on their bare subjects. It cannot publish another
  service's events (a forged
  ``plan.approved``), report into an inbox, act as an organization, or change a stream.
- **an organization** (``org-<code>``): publish its own inbox subject
  (``<ns>.inbox.status.<code>``), the commands it does as itself
  (``<ns>.cmd.<service>.<command>.<code>``, each named: the services take the acting
  organization from that last token) and the queries it may ask as itself
  (``<ns>.<query subject>.<code>``: the services answer there what it and the
  organizations beneath it may see); receive only its own replies (``_INBOX_org-<code>.>``,
  the inbox prefix its credential file names). The bare query subjects are the
  operator's, who sees everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from contracts.base import Command
from contracts.export import versioned_contracts
from contracts.plan_commands import GetPlan
from contracts.rollup import GetRollup, ListSupportCases
from contracts.status import GetPlanProgress, dead_letter_stream, inbox_stream
from contracts.subjects import DURABLES, events_stream, rebuild_consumer, refill_subject
from services.shared.credentials import (
    NatsCredential,
    read_credential,
    write_credential,
    write_private,
)

OPERATOR = "spn-admin"
ORG_PREFIX = "org-"
SERVICE_PREFIX = "svc-"
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def organization_of(user: str) -> str | None:
    """The organization a NATS user is of (an ``org-<code>`` user), else None."""
    return user.removeprefix(ORG_PREFIX) if user.startswith(ORG_PREFIX) else None


def operator_path(data_dir: Path) -> Path:
    """The operator's credential file of the stack with this data directory."""
    return data_dir / "credentials" / f"{OPERATOR}.json"


class Credentials:
    def __init__(self, data_dir: Path, namespace: str, services: Iterable[str]):
        self.directory = operator_path(data_dir).parent
        self.namespace = namespace
        self.services = list(services)

    def path(self, user: str) -> Path:
        return self.directory / f"{user}.json"

    def service_path(self, service: str) -> Path:
        return self.path(SERVICE_PREFIX + service)

    def ensure(self) -> None:
        """The operator's and each service's credential (made once, kept after; one made
        before services had an inbox prefix of their own gets it)."""
        write_credential(self.path(OPERATOR), OPERATOR)
        for user in (SERVICE_PREFIX + s for s in self.services):
            write_credential(self.path(user), user, inbox_prefix=f"_INBOX_{user}")

    def for_organization(self, code: str) -> Path:
        """The organization's credential file (made on first asking)."""
        if not CODE.match(code):
            raise ValueError(f"{code!r} is not an organization code")
        user = ORG_PREFIX + code
        path = self.path(user)
        write_credential(path, user, inbox_prefix=f"_INBOX_{user}")
        return path

    def users(self) -> list[NatsCredential]:
        return [read_credential(p) for p in sorted(self.directory.glob("*.json"))]

    def authorization(self) -> str:
        """The nats-server ``authorization`` block of every credential there is."""
        entries = [self._entry(c) for c in self.users()]
        return "authorization {\n  users = [\n" + "\n".join(entries) + "\n  ]\n}\n"

    def _entry(self, credential: NatsCredential) -> str:
        entry: dict[str, object] = {"user": credential.user, "password": credential.password}
        permissions = self._permissions(credential.user)
        if permissions is not None:
            entry["permissions"] = permissions
        return "    " + json.dumps(entry)

    def _permissions(self, user: str) -> dict[str, object] | None:
        ns = self.namespace
        if user == OPERATOR:
            return None
        if user.startswith(SERVICE_PREFIX):
            return service_permissions(ns, user.removeprefix(SERVICE_PREFIX))
        code = user.removeprefix(ORG_PREFIX)
        own = [f"{ns}.{c.SUBJECT}.{code}" for c in acting_commands()]
        asks = [f"{ns}.{c.SUBJECT}.{'*.' if _per_service(c) else ''}{code}"
                for c in scoped_queries()]  # fmt: skip
        return {"publish": {"allow": [f"{ns}.inbox.status.{code}", *own, *asks]},
                "subscribe": {"allow": [f"_INBOX_{user}.>"]}}  # its own replies only  # fmt: skip


def write_users(credentials: Credentials, path: Path) -> bool:
    """The operator's and each service's credential (made once), and the server's
    ``authorization`` block of every credential there is in ``path`` (owner-only), for an
    external NATS whose configuration includes it. Whether the file changed (the server
    must be reloaded to take it)."""
    credentials.ensure()
    text = credentials.authorization()
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text)
    return True


ASKS: dict[str, tuple[type[Command], ...]] = {
    "alerts": (GetPlan, GetPlanProgress, GetRollup, ListSupportCases),
}
"""The questions a service asks another (the alerts service: what a quarterly report is
made of), as the operator: each on its bare subject, nothing else of another service."""


def service_permissions(ns: str, service: str) -> dict[str, object]:
    """What one service may publish and receive (see the module's docstring)."""
    events, inbox, letters = events_stream(ns), inbox_stream(ns), dead_letter_stream(ns)
    stream_of = {"events": events, "inbox": inbox}
    own = [(stream_of[kind], name) for name, (owner, kind) in DURABLES.items()
           if owner == service]  # fmt: skip
    made = [events, letters, *([inbox] if service == "status" else [])]  # the inbox's owner
    api = "$JS.API"
    jetstream = [
        *(f"{api}.STREAM.INFO.{s}" for s in (events, inbox, letters)),
        *(f"{api}.STREAM.CREATE.{s}" for s in made),
        f"{api}.STREAM.MSG.GET.{events}",
        *(f"{api}.CONSUMER.{call}.{s}.{name}" for s, name in own
          for call in ("INFO", "DELETE", "MSG.NEXT")),  # its own durables only
        *(f"{api}.CONSUMER.CREATE.{s}.{name}.>" for s, name in own),
        *(f"$JS.ACK.{s}.{name}.>" for s, name in own),
        *(f"{api}.CONSUMER.{call}.{events}.{rebuild_consumer(service)}"
          for call in ("INFO", "DELETE", "MSG.NEXT")),  # its rebuild's reader (no acks)
        f"{api}.CONSUMER.CREATE.{events}.{rebuild_consumer(service)}.>",
    ]  # fmt: skip
    every = [c for c in versioned_contracts() if issubclass(c, Command) and _per_service(c)]
    answered = [f"{ns}.{c.SUBJECT}.{service}{suffix}" for c in every
                for suffix in ("", *([".*"] if c.SCOPE else []))]  # an organization's too
    asks = [f"{ns}.{c.SUBJECT}" for c in ASKS.get(service, ())]
    return {
        "publish": {"allow": [f"{ns}.evt.{service}.>", f"{ns}.dlq.{service}.>",
                              refill_subject(ns, "*"), "_INBOX.>", *jetstream, *asks]},
        "subscribe": {"allow": [f"{ns}.cmd.{service}.>", f"{ns}.qry.{service}.>", *answered,
                                refill_subject(ns, service),
                                f"_INBOX_{SERVICE_PREFIX}{service}.>"]},
        "allow_responses": True,
    }  # fmt: skip


def _per_service(contract: type[Command]) -> bool:
    """A question every service answers for itself (``<SUBJECT>.<service>``)."""
    return getattr(contract, "SUBJECT_PARAMETERS", ()) == ("service",)


def scoped_queries() -> list[type[Command]]:
    """The queries an organization may ask (in its scope; ``Command.SCOPE``)."""
    return [c for c in versioned_contracts() if issubclass(c, Command) and c.SCOPE]


def acting_commands() -> list[type[Command]]:
    """The commands an organization does as itself (sent on ``<SUBJECT>.<organization>``)."""
    return [c for c in versioned_contracts() if issubclass(c, Command)
            and getattr(c, "SUBJECT_PARAMETERS", ()) == ("organization",)]  # fmt: skip

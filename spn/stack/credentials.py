"""Who may connect to the embedded NATS, and what each may do: one user per service, an
operator (the CLI of whoever runs the stack) and one user per organization that asked
for a credential (``spn org credentials ORG``). The credentials live in
``<data>/credentials`` (files only their owner reads); the server's ``authorization``
block is written from them, beside its config, and read again when one is added.

- **operator** (``spn-admin``): everything (the state IT staff who run the stack).
- **a service** (``svc-<name>``): every subject, except publishing another service's
  integration events (a forged ``plan.approved``) and deleting or purging a stream.
- **an organization** (``org-<code>``): publish its own inbox subject
  (``<ns>.inbox.status.<code>``), the commands it acts in as itself
  (``<ns>.cmd.<service>.<command>.<code>``: the services take the acting organization
  from that last token) and the queries; receive only its replies (``_INBOX.>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from services.shared.credentials import NatsCredential, read_credential, write_credential

OPERATOR = "spn-admin"
ORG_PREFIX = "org-"
SERVICE_PREFIX = "svc-"
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Credentials:
    def __init__(self, data_dir: Path, namespace: str, services: Iterable[str]):
        self.directory = data_dir / "credentials"
        self.namespace = namespace
        self.services = list(services)

    def path(self, user: str) -> Path:
        return self.directory / f"{user}.json"

    def service_path(self, service: str) -> Path:
        return self.path(SERVICE_PREFIX + service)

    def ensure(self) -> None:
        """The operator's and each service's credential (made once, kept after)."""
        for user in [OPERATOR, *(SERVICE_PREFIX + s for s in self.services)]:
            write_credential(self.path(user), user)

    def for_organization(self, code: str) -> Path:
        """The organization's credential file (made on first asking)."""
        if not CODE.match(code):
            raise ValueError(f"{code!r} is not an organization code")
        path = self.path(ORG_PREFIX + code)
        write_credential(path, ORG_PREFIX + code)
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
            service = user.removeprefix(SERVICE_PREFIX)
            others = [f"{ns}.evt.{s}.>" for s in self.services if s != service]
            streams = ["$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>",
                       "$JS.API.STREAM.MSG.DELETE.>"]  # fmt: skip
            return {"publish": {"allow": [">"], "deny": others + streams},
                    "subscribe": {"allow": [">"]}}  # fmt: skip
        code = user.removeprefix(ORG_PREFIX)
        return {"publish": {"allow": [f"{ns}.inbox.status.{code}", f"{ns}.cmd.*.*.{code}",
                                      f"{ns}.qry.>"]},
                "subscribe": {"allow": ["_INBOX.>"]}}  # fmt: skip

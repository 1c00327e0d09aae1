"""``spn org credentials ORG``: the NATS credential of one organization (made on first
asking, kept after), which lets it report to its own inbox and act as itself only; the
embedded NATS reads it at once (an external one when it is told to reload). ``spn nats
users``: the users of an external NATS, written to the file its configuration includes.
File paths are printed, never a secret."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from contracts.plan_commands import ListOrganizations
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import CliError, NotFoundError
from spn.stack.credentials import Credentials, write_users
from spn.stack.nats_server import NatsServer
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES


def org_credentials(args: argparse.Namespace, settings: StackSettings) -> int:
    data_dir = settings.data_dir.resolve()
    credentials = Credentials(data_dir, settings.namespace, [s.name for s in SERVICES])
    if not settings.spn_users or not credentials.directory.exists():
        raise CliError("credentials are made for the embedded NATS of `spn up` (in its data "
                       "directory), or for an external NATS given SPN_NATS_AUTH_FILE (spn "
                       "nats users); README, Credentials")  # fmt: skip

    async def known(client: SpnClient) -> int:
        codes = {o["code"] for o in (await client.request(ListOrganizations()))["organizations"]}
        if args.org not in codes:
            raise NotFoundError(f"no organization {args.org} (spn org list shows them)")
        return 0

    with_client(settings, known)
    path = credentials.for_organization(args.org)
    if settings.nats_auth_file is not None and settings.nats_url:
        write_users(credentials, settings.nats_auth_file)
        reloaded = False  # the external server's: its operator reloads it
    else:
        server = NatsServer(data_dir / "nats", settings.nats_port,
                            authorization=credentials.authorization)  # fmt: skip
        server.write_authorization()
        reloaded = _reload(data_dir / "run" / "nats.pid")
    shown = {"organization": args.org, "user": f"org-{args.org}", "file": str(path),
             "nats_reloaded": reloaded}  # fmt: skip
    if args.json:
        output.emit_json(shown)
    else:
        print(f"{args.org}: NATS credential in {path} (keep it secret; for its reports: "
              f"SPN_NATS_CREDENTIALS={path} spn status submit FILE)")  # fmt: skip
        if settings.nats_auth_file is not None and settings.nats_url:
            print(f"  written to {settings.nats_auth_file}: reload the NATS server "
                  "(nats-server --signal reload) for it to take the credential")  # fmt: skip
        elif not reloaded:
            print("  NATS is not running: it takes the credential when spn up starts it")
    return 0


def nats_users(args: argparse.Namespace, settings: StackSettings) -> int:
    """Write the users of an external NATS (the operator's, each service's, each
    organization's that has a credential) to the file its configuration includes."""
    target = Path(args.out) if args.out else settings.nats_auth_file
    if target is None:
        raise CliError("name the file: --out FILE, or SPN_NATS_AUTH_FILE")
    credentials = Credentials(settings.data_dir.resolve(), settings.namespace,
                              [s.name for s in SERVICES])  # fmt: skip
    path = target.resolve()
    write_users(credentials, path)
    shown = {"file": str(path), "credentials": str(credentials.directory),
             "users": [c.user for c in credentials.users()]}  # fmt: skip
    if args.json:
        output.emit_json(shown)
    else:
        print(f"NATS users written to {path} ({len(shown['users'])} users, with their "
              "passwords: keep it readable by you and the NATS server only).")
        print(f'  Beside the server\'s configuration file, which says: include "{path.name}" '
              "(JetStream on); then reload or start the server.")
        print(f"  For spn up and the CLI: SPN_NATS_URL=<the server> SPN_NATS_AUTH_FILE={path}")
    return 0


def _reload(pid_file: os.PathLike[str]) -> bool:
    """Tell the running nats-server to read its configuration again (SIGHUP), only if
    the pid file names a nats-server still (a stale one may name another process now)."""
    try:
        with open(pid_file) as file:
            pid = int(file.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            if b"nats-server" not in file.read():
                return False
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True


def add_parser(org_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    made = org_sub.add_parser(
        "credentials", help="the NATS credential of one organization (made on first asking)",
        description="An organization's credential lets it publish its own status reports "
        "(to spn.inbox.status.<org>), do as itself the commands it may do (submit its "
        "plan, approve its schools' plans, report its measures, record its support), and "
        "ask the queries; nothing else. The embedded NATS takes it at once. The file's path "
        "is printed, never the secret.",
    )  # fmt: skip
    made.add_argument("org", help="the organization's code")
    made.add_argument("--json", action="store_true", help="print JSON for scripts")
    made.set_defaults(handler=org_credentials)


def add_nats_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    nats = sub.add_parser("nats", help="the NATS users of an external server")
    nats_sub = nats.add_subparsers(dest="action", metavar="ACTION", required=True)
    users = nats_sub.add_parser(
        "users", help="write the users of an external NATS to the file its config includes",
        description="For an external NATS (SPN_NATS_URL): makes the operator's and each "
        "service's credential in the data directory (once; kept after), and writes the "
        "server's authorization block of every credential (organizations' included) to "
        "FILE, readable by its owner only. Include that file in the server's configuration "
        "and reload it; then run spn up and the CLI with SPN_NATS_AUTH_FILE=FILE: the "
        "services and the CLI connect with their own credentials, and the permissions are "
        "those of the embedded NATS (README, Credentials).",
    )  # fmt: skip
    users.add_argument("--out", metavar="FILE", help="where to write it (default: "
                       "SPN_NATS_AUTH_FILE)")  # fmt: skip
    users.add_argument("--json", action="store_true", help="print JSON for scripts")
    users.set_defaults(handler=nats_users)

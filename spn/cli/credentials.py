"""``spn org credentials ORG``: the NATS credential of one organization (made on first
asking, kept after), which lets it report to its own inbox and act as itself only; the
embedded NATS reads it at once. The file's path is printed, never the secret."""

from __future__ import annotations

import argparse
import os
import signal

from contracts.plan_commands import ListOrganizations
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import CliError, NotFoundError
from spn.stack.credentials import Credentials
from spn.stack.nats_server import NatsServer
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES


def org_credentials(args: argparse.Namespace, settings: StackSettings) -> int:
    data_dir = settings.data_dir.resolve()
    credentials = Credentials(data_dir, settings.namespace, [s.name for s in SERVICES])
    if settings.nats_url or not credentials.directory.exists():
        raise CliError("credentials are made for the embedded NATS of `spn up` (in its data "
                       "directory); an external NATS has its users configured on it "
                       "(README, Credentials)")  # fmt: skip

    async def known(client: SpnClient) -> int:
        codes = {o["code"] for o in (await client.request(ListOrganizations()))["organizations"]}
        if args.org not in codes:
            raise NotFoundError(f"no organization {args.org} (spn org list shows them)")
        return 0

    with_client(settings, known)
    path = credentials.for_organization(args.org)
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
        if not reloaded:
            print("  NATS is not running: it takes the credential when spn up starts it")
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

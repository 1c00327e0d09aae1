"""``spn rebuild [SERVICE | SERVICE.READ-MODEL] [--verify]``: the read models a service
feeds from its own events, compared row by row with what its event store gives, and
written again from it unless only verifying."""

from __future__ import annotations

import argparse

from contracts import rebuild as rb
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import InvalidInputError
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES as STACK_SERVICES

SERVICES = tuple(spec.name for spec in STACK_SERVICES)
SLOW = 600.0  # seconds a rebuild of a large store may take


def rebuild(args: argparse.Namespace, settings: StackSettings) -> int:
    service, _, table = (args.target or "").partition(".")
    if service and service not in SERVICES:
        raise InvalidInputError(f"{service!r} is not a service ({', '.join(SERVICES)})")
    services = [service] if service else list(SERVICES)

    async def work(client: SpnClient) -> int:
        found = []
        for name in services:
            say = not args.json
            if say:
                print(f"{name}: {'checking' if args.verify else 'rebuilding'} ...", flush=True)
            found.append(await client.request(
                rb.RebuildReadModels(verify=args.verify, table=table or None), name,
                timeout=SLOW))  # fmt: skip
        if args.json:
            output.emit_json(found)
        else:
            for line in output.rebuild_lines(found):
                print(line)
        return 0 if not args.verify or all(f["equal"] for f in found) else 1

    return with_client(settings, work)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rebuilt = sub.add_parser(
        "rebuild", help="write read models again from the event stores (or --verify them)",
        description="Each read model a service feeds from its own events is compared row "
        "by row with what its event store gives, and written again from it in one "
        "transaction. Read models fed by other services' events (SPN_EVENTS) are listed "
        "as not covered: drop them with the service's consumer and restart it to rebuild "
        "them from the stream (README, Rebuilds). Exit 1 with --verify if any differs.",
    )  # fmt: skip
    rebuilt.add_argument("target", nargs="?", metavar="SERVICE[.READ-MODEL]",
                         help="plans, status, rollup or alerts, or one read model of one, "
                         "e.g. rollup.support_cases (default: every service)")  # fmt: skip
    rebuilt.add_argument("--verify", action="store_true", help="only compare; change nothing")
    rebuilt.add_argument("--json", action="store_true", help="print JSON for scripts")
    rebuilt.set_defaults(handler=rebuild)

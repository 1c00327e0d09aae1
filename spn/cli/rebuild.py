"""``spn rebuild [SERVICE | SERVICE.READ-MODEL] [--verify]``: each read model of a service
compared row by row with what its event store (or, for those other services' events
feed, the events stream) gives, and written again from it unless only verifying; a
progress bar on the terminal while it reads."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from contracts import rebuild as rb
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import InvalidInputError, StackUnreachableError
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES as STACK_SERVICES

SERVICES = tuple(spec.name for spec in STACK_SERVICES)
SLOW = 1800.0  # seconds a rebuild of a large store may take
SILENCE = 30.0  # seconds without an answer or progress: the service is gone


class ProgressBar:
    """One bar a step of a service's rebuild (on a terminal; plain lines in a log)."""

    def __init__(self, service: str):
        self.service = service
        self.bar: tqdm[Any] | None = None
        self.step = ""
        self.heard = time.monotonic()  # the last progress message

    def __call__(self, body: bytes) -> None:
        self.heard = time.monotonic()
        try:
            shown = rb.RebuildProgress.model_validate_json(body)
        except ValidationError:
            return
        if shown.step != self.step:
            self.close()
            self.step = shown.step
            self.bar = tqdm(total=shown.total or None, desc=f"{self.service}: {shown.step}",
                            unit=" events" if shown.step != "comparing" else " tables",
                            file=sys.stderr, leave=False, mininterval=0.5,
                            disable=not sys.stderr.isatty())  # fmt: skip
        if self.bar is not None:
            self.bar.total = shown.total or None
            self.bar.n = shown.done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


async def _answered(client: SpnClient, bar: ProgressBar, service: str,
                    request: rb.RebuildReadModels) -> dict[str, Any]:  # fmt: skip
    """The service's answer; StackUnreachableError once it has been silent (no answer, no
    progress) for ``SILENCE`` seconds: it stopped or restarted."""
    asked = asyncio.ensure_future(client.request(request, service, timeout=SLOW))
    try:
        while not asked.done():
            await asyncio.wait([asked], timeout=1.0)
            if not asked.done() and time.monotonic() - bar.heard > SILENCE:
                raise StackUnreachableError(
                    f"{service} stopped answering the rebuild (no progress for {SILENCE:.0f}s): "
                    "it stopped or restarted; a rebuild writes in one transaction, so its "
                    "tables are as before or rebuilt: run it again")  # fmt: skip
        return asked.result()
    finally:
        asked.cancel()


def rebuild(args: argparse.Namespace, settings: StackSettings) -> int:
    service, _, table = (args.target or "").partition(".")
    if service and service not in SERVICES:
        raise InvalidInputError(f"{service!r} is not a service ({', '.join(SERVICES)})")
    services = [service] if service else list(SERVICES)

    async def work(client: SpnClient) -> int:
        found = []
        for name in services:
            if not args.json:
                print(f"{name}: {'checking' if args.verify else 'rebuilding'} ...",
                      file=sys.stderr, flush=True)  # fmt: skip
            bar = ProgressBar(name)
            inbox, subscription = await client.inbox(bar)
            try:
                found.append(await _answered(client, bar, name, rb.RebuildReadModels(
                    verify=args.verify, table=table or None, progress=inbox)))  # fmt: skip
            finally:
                await subscription.unsubscribe()
                bar.close()
        if args.json:
            output.emit_json(found)
        else:
            for line in output.rebuild_lines(found):
                print(line)
        whole = all(f["equal"] and not f["problems"] for f in found)
        return 0 if whole or not (args.verify or any(f["problems"] for f in found)) else 1

    return with_client(settings, work)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rebuilt = sub.add_parser(
        "rebuild", help="write read models again from the event stores (or --verify them)",
        description="Each read model of a service is compared row by row with what its "
        "own event store gives (or, for the read models other services' events feed, "
        "what the events stream SPN_EVENTS gives) and written again from it in one "
        "transaction; nothing the service writes meanwhile is lost. A stream that lacks "
        "messages (retention, a purge) is named and those read models are left as they "
        "are (README, Rebuilds). Exit 1 if any differs with --verify, or if any could "
        "not be rebuilt.",
    )  # fmt: skip
    rebuilt.add_argument("target", nargs="?", metavar="SERVICE[.READ-MODEL]",
                         help="plans, status, rollup or alerts, or one read model of one, "
                         "e.g. rollup.support_cases (default: every service)")  # fmt: skip
    rebuilt.add_argument("--verify", action="store_true", help="only compare; change nothing")
    rebuilt.add_argument("--json", action="store_true", help="print JSON for scripts")
    rebuilt.set_defaults(handler=rebuild)

"""``spn audit``: verify each service's event log against its Merkle tree and signed
checkpoints, prove a plan's events, export the checkpoints and a plan's evidence."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from contracts import audit as au
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import InvalidInputError
from spn.cli.history import timeline
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES as STACK_SERVICES

SERVICES = tuple(spec.name for spec in STACK_SERVICES)
SLOW = 300.0  # seconds a verification of a large log may take


def _services(args: argparse.Namespace) -> list[str]:
    return [args.service] if args.service else list(SERVICES)


def verify(args: argparse.Namespace, settings: StackSettings) -> int:
    services = _services(args)
    kept = _kept(Path(args.checkpoint), services) if args.checkpoint else {}

    async def work(client: SpnClient) -> int:
        found = []
        for service in services:
            note, key = kept.get(service, (None, None))
            found.append(await client.request(au.VerifyLog(checkpoint=note, verifier_key=key),
                                              service, timeout=SLOW))  # fmt: skip
        if args.json:
            output.emit_json(found)
        else:
            for line in output.verify_lines(found):
                print(line)
        return 0 if all(f["intact"] for f in found) else 1

    return with_client(settings, work)


def _kept(path: Path, services: list[str]) -> dict[str, tuple[str, str | None]]:
    """The checkpoints (and verifier keys) kept outside, by service: a directory written by
    ``spn audit checkpoint --out``, or one checkpoint file (its .vkey beside it, if any)."""
    files = sorted(path.glob("*.checkpoint")) if path.is_dir() else [path]
    kept: dict[str, tuple[str, str | None]] = {}
    for file in files:
        note = _read(file)
        service = note.split("\n", 1)[0].rsplit("/", 1)[-1]
        if service not in services:
            raise InvalidInputError(f"{file} is a checkpoint of {note.split(chr(10), 1)[0]!r}, "
                                    f"not of {', '.join(services)}")  # fmt: skip
        key = file.with_suffix(".vkey")
        kept[service] = (note, _read(key).strip() if key.exists() else None)
    if not kept:
        raise InvalidInputError(f"no checkpoint in {path}")
    return kept


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise InvalidInputError(f"cannot read {path}: {error.strerror}") from None


async def proofs(client: SpnClient, plan: str, service: str) -> dict[str, Any]:
    """Every page of a plan's proofs in one service's log, against one checkpoint."""
    found = await client.request(au.ProvePlan(plan=plan), service, timeout=SLOW)
    while len(found["proofs"]) < found["total"]:
        page = await client.request(au.ProvePlan(plan=plan, offset=len(found["proofs"])),
                                    service, timeout=SLOW)  # fmt: skip
        if page["checkpoint"] != found["checkpoint"]:  # signed again meanwhile: start over
            return await proofs(client, plan, service)
        found["proofs"] += page["proofs"]
    return found


def prove(args: argparse.Namespace, settings: StackSettings) -> int:
    async def work(client: SpnClient) -> int:
        found = [await proofs(client, args.plan, s) for s in _services(args) if s != "alerts"]
        if args.json:
            output.emit_json(found)
        else:
            for line in output.proof_lines(found):
                print(line)
        return 0

    return with_client(settings, work)


def checkpoint(args: argparse.Namespace, settings: StackSettings) -> int:
    async def work(client: SpnClient) -> int:
        found = [await client.request(au.GetCheckpoint(), s) for s in _services(args)]
        out = Path(args.out) if args.out else None
        for note in found:
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                path = out / f"{note['service']}.checkpoint"
                path.write_text(note["note"])
                (out / f"{note['service']}.vkey").write_text(note["verifier_key"] + "\n")
                print(f"wrote {path} (tree size {note['tree_size']})")
            else:
                print(note["note"], end="")
                print(f"verifier key: {note['verifier_key']}\n")
        return 0

    return with_client(settings, work)


def export(args: argparse.Namespace, settings: StackSettings) -> int:
    target = Path(args.to)

    async def work(client: SpnClient) -> int:
        entries, missing = await timeline(client, args.plan)
        proved = [await proofs(client, args.plan, s) for s in SERVICES if s != "alerts"]
        target.mkdir(parents=True, exist_ok=True)
        (target / "history.json").write_text(json.dumps(
            {"plan": args.plan, "entries": entries, "unanswered": missing}, indent=1,
            default=str))  # fmt: skip
        for found in proved:
            service = found["service"]
            lines = [json.dumps(p["event"], sort_keys=True) + "\n" for p in found["proofs"]]
            (target / f"{service}.events.jsonl").write_text("".join(lines))
            (target / f"{service}.proofs.json").write_text(json.dumps(found, indent=1))
            (target / f"{service}.checkpoint").write_text(found["checkpoint"])
            (target / f"{service}.vkey").write_text(found["verifier_key"] + "\n")
        (target / "README.txt").write_text(EXPORT_README.format(plan=args.plan))
        events = sum(len(p["proofs"]) for p in proved)
        print(f"wrote {target}: {len(entries)} history entries, {events} events with their "
              f"inclusion proofs and checkpoints of {', '.join(p['service'] for p in proved)}")
        return 0

    return with_client(settings, work)


EXPORT_README = """Evidence of plan {plan}, exported by `spn audit export`.

history.json              the plan's timeline across the services (spn history --json)
<service>.events.jsonl    the plan's stored events in that service's log, one per line
<service>.proofs.json     each event's RFC 9162 inclusion proof against the checkpoint
<service>.checkpoint      the signed checkpoint (C2SP tlog-checkpoint in a signed note)
<service>.vkey            the service's verifier key (name+key id+base64(0x01||Ed25519 key))

To check without the system: for each event, leaf = SHA-256(0x00 || canonical), where
canonical is the JSON object with keys id (its notification_id), originator_id,
originator_version, topic and state (base64), keys sorted, no spaces; fold the proof's
path as RFC 9162 section 2.1.3.2 says; the result must equal the checkpoint's root (its
third line, base64), and the checkpoint's Ed25519 signature must verify with the key.
Keep the checkpoints: a later `spn audit verify --checkpoint FILE` shows whether the log
still matches them.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="tamper evidence: verify the logs, prove a plan")
    actions = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    checked = actions.add_parser(
        "verify", help="recompute every event's leaf and check the signed checkpoints",
        description="Names each event altered, removed or inserted behind the services' "
        "back; exit 1 if any, or if a checkpoint's signature or root does not hold.",
    )  # fmt: skip
    checked.add_argument("--service", choices=SERVICES, help="one service (default: all)")
    checked.add_argument("--checkpoint", metavar="PATH", help="checkpoints kept outside the "
                         "system: the directory of spn audit checkpoint --out (each "
                         "service's .checkpoint and .vkey), or one .checkpoint file")  # fmt: skip
    checked.add_argument("--json", action="store_true", help="print JSON for scripts")
    checked.set_defaults(handler=verify)
    proved = actions.add_parser("prove", help="inclusion proofs of a plan's events")
    proved.add_argument("plan", help="plan key <organization>/<plan year>")
    proved.add_argument("--service", choices=SERVICES[:3], help="one service (default: all)")
    proved.add_argument("--json", action="store_true", help="print JSON for scripts")
    proved.set_defaults(handler=prove)
    signed = actions.add_parser("checkpoint", help="each service's latest signed checkpoint")
    signed.add_argument("--service", choices=SERVICES, help="one service (default: all)")
    signed.add_argument("--out", metavar="DIR", help="write <service>.checkpoint and .vkey")
    signed.set_defaults(handler=checkpoint)
    exported = actions.add_parser("export", help="a plan's events, history, proofs and "
                                  "checkpoints, for an auditor to check offline")  # fmt: skip
    exported.add_argument("plan", help="plan key <organization>/<plan year>")
    exported.add_argument("--to", required=True, metavar="DIR", help="the directory to write")
    exported.set_defaults(handler=export)

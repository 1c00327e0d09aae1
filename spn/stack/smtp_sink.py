"""A local SMTP sink (aiosmtpd) for `spn up` when no SMTP server is configured: every
message it receives is written as an ``.eml`` file, named by its Message-ID, under
``<data dir>/mail``: a repeat of a message (same Message-ID) overwrites its file, so the
directory holds each message once and the log line says it was a repeat.

``python -m spn.stack.smtp_sink DIRECTORY PORT [HOST]``"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("smtp-sink")


class MailDirectory:
    """aiosmtpd handler: each message to ``<Message-ID>.eml``."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        message_id = message_from_bytes(content).get("Message-ID", "") or "no-id"
        path = self.directory / f"{safe_name(message_id)}.eml"
        repeat = path.exists()
        path.write_bytes(content)
        log.info("%s %s to %s", "repeat of" if repeat else "received", message_id,
                 ", ".join(envelope.rcpt_tos))  # fmt: skip
        return "250 Message accepted"


def safe_name(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "", message_id) or "no-id"


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s smtp-sink %(message)s")
    directory, port = Path(argv[0]), int(argv[1])
    host = argv[2] if len(argv) > 2 else "127.0.0.1"
    controller = Controller(MailDirectory(directory), hostname=host, port=port)
    controller.start()
    log.info("listening on %s:%d, writing to %s", host, port, directory)
    stop = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main(sys.argv[1:])

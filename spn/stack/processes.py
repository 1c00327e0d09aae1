"""How the stack starts a process of its own."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

STOP_TIMEOUT = 15.0  # seconds a process has to stop before it is killed


def spawn(argv: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process of the stack, appending to its log, in a session of its own (Ctrl-C
    reaches `spn up` only; it stops them all in order)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


class OwnProcess:
    """What the stack's own helper processes (the SMTP sink, Prometheus) share: whether it
    runs, how it ended, how it stops (``stop_signal``, then killed after the timeout)."""

    process: subprocess.Popen[bytes] | None
    stop_signal: signal.Signals = signal.SIGINT

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_note(self) -> str:
        return f"exited ({self.process.returncode if self.process else None})"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

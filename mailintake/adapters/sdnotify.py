"""The systemd notification protocol (sd_notify(3)) without libsystemd.

Owns: writing `READY=1`, `STOPPING=1`, `WATCHDOG=1` and `STATUS=` datagrams to
the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
namespace). Without that variable (not started by systemd) every call does
nothing. Must not decide *when* the service is ready or alive: the daemon
loop and the `run` command do.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger()


class Notifier:
    """Sends state changes to the service manager; a no-op outside systemd."""

    def __init__(self, address: str | None) -> None:
        # sd_notify(3): an address starting with "@" is in Linux's abstract namespace.
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self._socket: socket.socket | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        return cls((os.environ if environ is None else environ).get("NOTIFY_SOCKET") or None)

    def notify(self, *assignments: str) -> None:
        """Send `KEY=value` lines in one datagram; a lost datagram must not stop the daemon."""
        if not self.address:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto("\n".join(assignments).encode(), self.address)
        except OSError as exc:
            log.warning("sdnotify.failed", error=str(exc))

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping: finishing the message in hand")

    # The daemon's Monitor hooks (mailintake.daemon.Monitor): progress shows in `systemctl status`.

    def passed(self, outcomes: Mapping[str, int], reading: bool) -> None:
        if reading:
            handled = sum(outcomes.values())
            self.status(f"reading the mailbox; {handled} message(s) in the last pass")
        else:
            self.status("standby: another instance reads the mailbox")

    def fault(self, kind: str, detail: str = "") -> None:
        self.status(f"retrying after a fault: {detail or kind}")

    def progressed(self) -> None:
        return None  # the loop pings WATCHDOG=1 itself (`on_tick`), also while it waits

    def noted(self, kind: str) -> None:
        """Counted by the metrics; nothing for the status line."""

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

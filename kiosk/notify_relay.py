"""Relay a service's readiness and watchdog messages from a descendant to systemd.

    python -m kiosk.notify_relay -- COMMAND [ARG]...

The shell's unit opens a PAM session on tty1 (``PAMName=``), which cage needs for its seat. The
session moves the unit's main process into its own scope, and with it every process that
process starts: systemd then takes their ``READY=1`` and ``WATCHDOG=1`` for the session's scope,
not for ``kiosk-shell.service`` (systemd.exec(5), ``PAMName=``). The unit never became active,
was killed at its start timeout and restarted, over and over, and ``kiosk-ready.service`` never
ran (seen in the booted image). Only the main process itself still speaks for the unit.

So the main process is this relay: it runs COMMAND (cage, which runs the shell) with
``$NOTIFY_SOCKET`` pointing at a socket of its own in the unit's runtime directory, and passes
each datagram on to systemd's socket, from the main process. It forwards SIGTERM, SIGINT and
SIGHUP to COMMAND and ends with COMMAND's status. Without ``$NOTIFY_SOCKET`` (not under
systemd) it simply becomes COMMAND. Standard library only: it starts before anything else.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

MAX_DATAGRAM = 4096  # sd_notify messages are a few lines


def _address(value: str) -> str:
    """``$NOTIFY_SOCKET`` as a socket address (``@name``: Linux's abstract namespace)."""
    return "\0" + value[1:] if value.startswith("@") else value


def relay(command: list[str], target: str, directory: Path) -> int:
    """Run ``command`` and pass its notifications on to ``target``; its exit status."""
    path = directory / "notify-relay.sock"
    path.unlink(missing_ok=True)
    inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    inbox.bind(str(path))
    outbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    env = {**os.environ, "NOTIFY_SOCKET": str(path)}
    child = subprocess.Popen(command, env=env)  # the unit's own command line

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    watch = selectors.DefaultSelector()
    watch.register(inbox, selectors.EVENT_READ)
    try:
        while child.poll() is None:
            if watch.select(timeout=0.5):
                message = inbox.recv(MAX_DATAGRAM)
                try:
                    outbox.sendto(message, _address(target))
                except OSError as error:  # systemd gone (shutdown): the command goes on
                    print(f"notify-relay: {error}", file=sys.stderr)
        return child.returncode if child.returncode >= 0 else 128 - child.returncode
    finally:
        watch.close()
        inbox.close()
        outbox.close()
        path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m kiosk.notify_relay -- COMMAND [ARG]...", file=sys.stderr)
        return 2
    target = os.environ.get("NOTIFY_SOCKET", "")
    if not target:
        os.execvp(args[0], args)  # nothing to relay: become the command
    # The unit's runtime directory named "notify" (RuntimeDirectory=kiosk/notify), else a new one.
    runtime = [Path(d) for d in os.environ.get("RUNTIME_DIRECTORY", "").split(":") if d]
    directory = next((d for d in runtime if d.name == "notify"), None) or Path(tempfile.mkdtemp(prefix="notify-relay-"))
    return relay(args, target, directory)


if __name__ == "__main__":
    sys.exit(main())

"""``kiosk setup``: the first-boot setup's commands (run as root by its units, or by a technician).

- ``kiosk setup apply``: the shell's request applied (``kiosk-setup-apply.service``, started by
  ``kiosk-setup-apply.path`` when the request appears);
- ``kiosk setup usb DEVICE``: ``borne-setup.toml`` from a USB key (``kiosk-setup-usb@.service``,
  started by udev while the setup is not done);
- ``kiosk setup status``: done or not, and the last result;
- ``kiosk setup reset``: the lock removed, so the setup page shows again at the next start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic, imported only when a setup command runs: `kiosk shell` starts light
    from kiosk.core.setup import SetupResult


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], config_help: str) -> None:
    command = sub.add_parser("setup", help="the first-boot setup (README, « Première mise en service »)")
    command.add_argument("--config-dir", type=Path, default=None, help=config_help)
    steps = command.add_subparsers(dest="setup_command", required=True)
    steps.add_parser("apply", help="apply the setup page's request (run as root by kiosk-setup-apply.service)")
    usb = steps.add_parser("usb", help="read borne-setup.toml from a USB key's partition (as root, while not done)")
    usb.add_argument("device", type=Path, help="the partition, e.g. /dev/sda1")
    steps.add_parser("status", help="say whether the setup is done, and its last result")
    reset = steps.add_parser("reset", help="open the setup again at the next start (as root)")
    reset.add_argument(
        "--if-asked", action="store_true", help="only if the staff panel asked for it (kiosk-setup-reopen.service)"
    )


def run(data_dir: Path, args: argparse.Namespace) -> int:
    from kiosk.core import setup
    from kiosk.firstboot.apply import Applier

    step = args.setup_command
    applier = Applier(data_dir)
    if step == "apply":
        result = applier.apply_pending()
        if result is None:
            print("kiosk setup apply: no request waiting.")
            return 0
        return _report(result)
    if step == "usb":
        from kiosk.firstboot.usb import import_from_usb

        found = import_from_usb(args.device, applier)
        if found is None:
            print(f"kiosk setup usb: nothing to do for {args.device} (setup done, or no {setup.USB_FILE}).")
            return 0
        return _report(found)
    if step == "status":
        done = setup.is_done(data_dir)
        print(f"The first-boot setup is {'done' if done else 'not done'} ({setup.setup_dir(data_dir)}).")
        last = setup.read_result(data_dir)
        if last is not None:
            _report(last)
        return 0 if done else 1
    if step == "reset":
        if args.if_asked and not setup.take_reopen(data_dir):
            print("kiosk setup reset: not asked; nothing changed.")
            return 0
        return _reset(data_dir)
    return 2


def _reset(data_dir: Path) -> int:
    """The lock goes; the local settings stay (the page starts from them) until the next setup."""
    from kiosk.core import setup

    try:
        (setup.setup_dir(data_dir) / setup.DONE_FILE).unlink(missing_ok=True)
        (setup.setup_dir(data_dir) / setup.RESULT_FILE).unlink(missing_ok=True)
    except OSError as error:
        print(f"kiosk setup reset: {error} (run it as root)", file=sys.stderr)
        return 1
    print("The setup shows again at the shell's next start: systemctl restart kiosk-shell")
    return 0


def _report(result: SetupResult) -> int:
    if result.ok:
        enrolled = f", enrolled for {result.enrolled_centre}" if result.enrolled_centre else ""
        print(f"Setup done from the {result.source}{enrolled}.")
        return 0
    for problem in result.problems:
        print(f"{problem.key}: {problem.message}", file=sys.stderr)
    return 1

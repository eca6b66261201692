"""Staff mode on the terminal: the PIN, how wrong PINs are held back, the last ticket.

Pure rules, no Qt. The shell's staff panel (``kiosk.shell.staffmode``) asks :class:`PinGate`
whether a PIN may be tried now and tells it how each try went; :class:`StaffPin` checks a PIN
against the argon2id hash that ``kiosk staff-pin`` wrote (never the PIN itself, anywhere).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus, DeviceWarning, Ticket, TicketPrinter
from kiosk.core.ports import Clock
from kiosk.i18n import N_

log = logging.getLogger(__name__)

PIN_MIN, PIN_MAX = 4, 8
PIN_FILE = "staff-pin"
"""The hash's file in the configuration directory (``/etc/kiosk/staff-pin``)."""

FREE_TRIES = 3
FIRST_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 15 * 60.0


class PinError(ValueError):
    """A PIN that cannot be set: says why in English (the CLI prints it)."""


def check_pin(pin: str) -> str:
    """``pin`` if it is 4 to 8 digits, else :class:`PinError`."""
    if not (PIN_MIN <= len(pin) <= PIN_MAX and pin.isascii() and pin.isdigit()):
        raise PinError(f"a staff PIN is {PIN_MIN} to {PIN_MAX} digits (0-9), nothing else")
    return pin


@dataclass(frozen=True)
class StaffPin:
    """The argon2id hash of the staff PIN, as read from the configuration directory."""

    hash: str

    @classmethod
    def make(cls, pin: str) -> StaffPin:
        from argon2 import PasswordHasher

        return cls(PasswordHasher().hash(check_pin(pin)))

    def matches(self, pin: str) -> bool:
        """True if ``pin`` is the PIN; slow on purpose (argon2): call it off the GUI thread."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(PasswordHasher().verify(self.hash, pin))
        except (VerificationError, InvalidHashError):
            return False


def pin_path(config_dir: Path) -> Path:
    return config_dir / PIN_FILE


def read_pin(config_dir: Path) -> StaffPin | None:
    """The PIN's hash, or None when none is set (or the file holds no argon2 hash: logged)."""
    path = pin_path(config_dir)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        log.error("staff.pin_unreadable", extra={"path": str(path), "error": type(error).__name__})
        return None
    if not text.startswith("$argon2"):
        log.error("staff.pin_not_a_hash", extra={"path": str(path)})
        return None
    return StaffPin(text)


def write_pin(config_dir: Path, pin: StaffPin, group: str | None = None) -> Path:
    """Replace the PIN's hash atomically, readable by its owner and ``group`` only (0640)."""
    path = pin_path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=config_dir, prefix=".staff-pin.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(pin.hash + "\n")
        os.chmod(temporary, 0o640)
        if group is not None:
            import shutil

            shutil.chown(temporary, group=group)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class PinGate:
    """Wrong PINs, held back: ``free_tries`` tries, then a lockout that doubles with each
    further wrong PIN (``first_lockout_s``, twice that, … up to ``max_lockout_s``). A right PIN
    starts again from nothing. Kept in memory: a restart of the shell needs the PIN anyway."""

    def __init__(
        self,
        clock: Clock,
        *,
        free_tries: int = FREE_TRIES,
        first_lockout_s: float = FIRST_LOCKOUT_S,
        max_lockout_s: float = MAX_LOCKOUT_S,
    ) -> None:
        self.clock = clock
        self.free_tries = free_tries
        self.first_lockout_s = first_lockout_s
        self.max_lockout_s = max_lockout_s
        self.failures = 0
        self._locked_until = 0.0

    def wait_s(self) -> float:
        """Seconds before a PIN may be tried again (0: now)."""
        return max(0.0, self._locked_until - self.clock.monotonic())

    def failed(self) -> float:
        """A wrong PIN: the lockout it brings, in seconds (0: still a free try)."""
        self.failures += 1
        beyond = self.failures - self.free_tries
        if beyond < 0:
            return 0.0
        lockout = min(self.max_lockout_s, self.first_lockout_s * 2.0 ** min(beyond, 32))
        self._locked_until = self.clock.monotonic() + lockout
        return lockout

    def succeeded(self) -> None:
        self.failures = 0
        self._locked_until = 0.0


class RememberingTicketPrinter:
    """A :class:`TicketPrinter` that keeps the last ticket it was given, in memory only, so that
    staff can print it again (a jam, a ticket torn off too soon). The ticket is kept even when it
    did not come out: that is when it is wanted."""

    def __init__(self, printer: TicketPrinter) -> None:
        self.printer = printer
        self.last: Ticket | None = None

    def print_ticket(self, ticket: Ticket) -> None:
        self.last = ticket
        self.printer.print_ticket(ticket)

    def reprint(self) -> bool:
        """Print the last ticket again; False when there is none. Raises as ``print_ticket``."""
        ticket = self.last
        if ticket is None:
            return False
        self.printer.print_ticket(ticket)
        return True

    def status(self) -> DeviceStatus:
        return self.printer.status()

    def __repr__(self) -> str:
        return f"RememberingTicketPrinter({self.printer!r})"


_FAILURE_WORDS: dict[DeviceFailure, str] = {
    DeviceFailure.ABSENT: N_("aucune sur cette borne"),
    DeviceFailure.OFFLINE: N_("ne répond pas (allumée ? câble ?)"),
    DeviceFailure.STOPPED: N_("mise en pause"),
    DeviceFailure.REFUSED: N_("refuse les impressions"),
    DeviceFailure.PAPER_OUT: N_("plus de papier"),
    DeviceFailure.JAM: N_("papier coincé"),
    DeviceFailure.TONER_OUT: N_("plus d'encre"),
    DeviceFailure.DOOR_OPEN: N_("un capot est ouvert"),
    DeviceFailure.OUTPUT_FULL: N_("bac de sortie plein"),
    DeviceFailure.TIMED_OUT: N_("ne répond pas à temps"),
}
_WARNING_WORDS: dict[DeviceWarning, str] = {
    DeviceWarning.PAPER_LOW: N_("prête, bientôt plus de papier"),
    DeviceWarning.TONER_LOW: N_("prête, bientôt plus d'encre"),
}


def status_words(status: DeviceStatus) -> str:
    """A device's state for the staff panel, in a few French words (a message id)."""
    if status.state is DeviceState.ABSENT:
        return _FAILURE_WORDS[DeviceFailure.ABSENT]
    if status.reasons or status.state is DeviceState.OFFLINE:
        ranked = sorted(status.reasons, key=list(DeviceFailure).index)
        return _FAILURE_WORDS.get(ranked[0] if ranked else DeviceFailure.OFFLINE, N_("en panne"))
    if status.warnings:
        return _WARNING_WORDS[sorted(status.warnings)[0]]
    return N_("en train d'imprimer") if status.state is DeviceState.BUSY else N_("prête")
